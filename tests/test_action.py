"""The pull-request check (action.yml): its verify script, run with a stand-in `conductor` and
`git` that record their arguments."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def script(name: str = "Verify the fork's provenance") -> tuple[str, dict[str, str]]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    (step,) = [s for s in action["runs"]["steps"] if s.get("name") == name]
    return step["run"], step["env"]


def run(
    tmp_path: Path, head: str, *, verify_exit: int = 0, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls"
    for tool in ("conductor", "git"):
        stub = bin_dir / tool
        code = verify_exit if tool == "conductor" else 0
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> {log}\nexit {code}\n')
        stub.chmod(0o755)
    text, _ = script()
    environ = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HEAD_REF": head,
        "IDENTITY": "",
        "ISSUER": "https://token.actions.githubusercontent.com",
        "REQUIRE_SIGNATURE": "true",
        **env,
    }
    done = subprocess.run(["bash", "-c", text], env=environ, capture_output=True, text=True, check=False)
    return done, log.read_text().splitlines() if log.exists() else []


def test_a_fork_branch_is_fetched_with_its_records_and_verified(tmp_path: Path) -> None:
    done, calls = run(tmp_path, "conductor/add-cache-1a2b/argparse", IDENTITY="https://id")
    assert done.returncode == 0, done.stderr
    assert calls[0] == (
        "git fetch --quiet origin refs/conductor/*:refs/conductor/*"
        " +refs/heads/conductor/add-cache-1a2b/argparse:refs/heads/conductor/add-cache-1a2b/argparse"
    )
    assert calls[1] == (
        "conductor verify add-cache-1a2b --fork argparse --require-signature"
        " --identity https://id --issuer https://token.actions.githubusercontent.com"
    )


@pytest.mark.parametrize("head", ["main", "feature/x", "conductor/only-plan"])
def test_other_branches_pass_untouched(tmp_path: Path, head: str) -> None:
    done, calls = run(tmp_path, head)
    assert done.returncode == 0 and calls == [] and "nothing to verify" in done.stdout


def test_a_failing_verify_fails_the_check(tmp_path: Path) -> None:
    done, calls = run(tmp_path, "conductor/p/f", verify_exit=1, REQUIRE_SIGNATURE="false")
    assert done.returncode == 1 and calls[-1] == "conductor verify p --fork f"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_conductor_is_installed_from_the_actions_own_checkout_without_an_index(tmp_path: Path) -> None:
    """git-conductor has no release on PyPI: the action installs the checkout GitHub makes of it
    (`github.action_path`). The step's line, run with pip kept offline (`--no-index`, a dry run),
    finds git-conductor in a copy of this repository's sources."""
    text, env = script("Install Conductor")
    assert env == {"ACTION_PATH": "${{ github.action_path }}"}
    source = tmp_path / "action"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "conductor", source / "conductor", ignore=shutil.ignore_patterns("__pycache__"))
    bin_dir, report = tmp_path / "bin", tmp_path / "report.json"
    bin_dir.mkdir()
    offline = f"--dry-run --no-index --no-deps --no-build-isolation --report {report}"
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@" {offline}\n')
    (bin_dir / "python").chmod(0o755)
    environ = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "ACTION_PATH": str(source)}
    done = subprocess.run(["bash", "-c", text], env=environ, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (installed,) = json.loads(report.read_text())["install"]
    assert installed["metadata"]["name"] == "git-conductor"
