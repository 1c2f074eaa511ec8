"""`conductor demo` as a user runs it: a real process, offline, the model scripted."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conductor.ledger.store import Ledger
from tests.conftest import PYTHON, assert_fsck_clean, conductor_bin, conductor_with, git, run_process


@pytest.mark.slow
def test_demo_runs_the_main_job_offline_and_cleans_up(tmp_path: Path) -> None:
    result = run_process(conductor_bin(), "demo", cwd=tmp_path, timeout=180)
    assert result.code == 0, result.out + result.err
    out, err = result.out, result.err
    assert "SCRIPTED" in out and "real google-genai SDK" in out
    # explore: three strategies planned and run
    assert "planning 3 strategies with gemini" in err
    for fork in ("json-file", "sqlite", "single-file"):
        assert f"fork {fork}" in err
    header = next(line for line in out.splitlines() if "confidence" in line and "fork" in line)
    assert header.split() == ["fork", "status", "steps", "evidence", "diff", "confidence", "tokens", "time"]
    assert "Recommended: json-file" in out
    # it ends with the pull request a reviewer would get
    body = out.split("(offline: the pull request a reviewer would get, not sent)", 1)[1]
    assert "json-file" in body and "conductor verify" in body and "refs/conductor/*" in body
    # evidence from pytest runs of the generated code; one failure repaired by tests
    assert "verify `python3 -m pytest -q -p no:cacheprovider`" in err
    assert "single-file] step_001: Verification failed" in err
    # the policy rejection and its repair
    assert "sqlite] step_001: Constraint violation: requirements.lock: added: protected by '*.lock'" in err
    assert "REJECTED: Constraint violation (Touches a protected file)" in out and "ACCEPTED" in out
    # replay and the guard
    assert "Every step produced the same tree." in out
    assert "commit refused" in out
    # provenance: verified, then one flipped byte in a record is caught
    verified = out.split("== conductor verify", 1)[1].split("\n== ", 1)[0]
    assert verified.count("/step_0") == 5 and verified.count("ok   branch ") == 3
    assert "FAIL" not in verified and verified.rstrip().endswith("verified")
    tampered = out.split("is changed in the json-file fork's log", 1)[1].split("\n== ", 1)[0]
    assert "FAIL json-file/step_001" in tampered
    assert "records: completed/step_001.result.json: sha256 " in tampered and "1 check failed" in tampered
    assert "has been removed" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_demo_keep_leaves_a_project_to_inspect(tmp_path: Path) -> None:
    result = run_process(conductor_bin(), "demo", "--dir", str(tmp_path / "d"), cwd=tmp_path, timeout=180)
    assert result.code == 0, result.err
    root = tmp_path / "d" / "task-manager"
    assert git(root, "log", "--format=%s").splitlines() == ["Set up Conductor"]
    assert git(root, "status", "--porcelain") == ""
    # its verify commands' pytest loads none of the plugins installed beside Conductor
    policy = yaml.safe_load(git(root, "show", "HEAD:.conductor/policy.yaml"))
    assert policy["workspace"]["env"] == {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    ledger = Ledger(root)
    plan = next(p for p in ledger.plans() if "replay" not in p)
    branch = f"conductor/{plan}/json-file"
    assert git(root, "log", "--format=%s", f"main..{branch}").splitlines() == [
        "Add the todo command",
        "Add the task store",
    ]
    assert sorted(git(root, "ls-tree", "--name-only", branch).split()) == [
        ".conductor",
        "tasks.py",
        "test_tasks.py",
        "test_todo.py",
        "todo.py",
    ]
    # the recommended fork's code works when checked out on its own
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    archive = subprocess.run(["git", "archive", branch], cwd=root, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x"], cwd=checkout, input=archive, check=True)
    # on its own: none of this environment's plugins, and its temporary directories apart from
    # this session's (whose old ones it would spend seconds removing as its own)
    alone = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_DEBUG_TEMPROOT": str(tmp_path)}
    tests = run_process(
        PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=checkout, env=alone, timeout=120
    )
    assert tests.code == 0 and "4 passed" in tests.out, tests.out
    patch = git(
        root, "show", f"refs/conductor/forks/{plan}/sqlite:evidence/step_001/attempt_1/rejected.patch"
    )
    assert "requirements.lock" in patch
    call = json.loads(
        git(root, "show", f"refs/conductor/forks/{plan}/json-file:llm/step_001/attempt_1/001.json")
    )
    assert call["request"]["purpose"] == "edit" and call["response"]["usage"] == {"input": 900, "output": 450}
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root, capture_output=True, check=True
    ).stdout
    assert b"scripted-demo-not-a-key" not in objects
    # the demo put the tampered record back: the kept project verifies
    assert run_process(conductor_bin(), "verify", plan, cwd=root).code == 0
    assert_fsck_clean(root)


@pytest.mark.slow
def test_a_demo_whose_verify_commands_cannot_run_stops_with_why(tmp_path: Path) -> None:
    # The demo runs `python3 -m pytest` with Conductor's own Python first on PATH; here that folder
    # holds a python3 that cannot run pytest (as on a machine whose python3 is not Conductor's).
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "python3").write_text("#!/bin/sh\necho 'No module named pytest' >&2\nexit 1\n")
    (broken / "python3").chmod(0o755)
    # The json-file fork's repair has no scripted answer: the fake model answers 500, and the
    # three retries would wait 1 + 2 + 4 s before the fork fails; here they do not wait.
    start = conductor_with(
        {},
        f"sys.executable = {str(broken / 'python')!r}",
        "from conductor.llm import caller",
        "caller.Caller.__init__.__kwdefaults__['sleep'] = lambda seconds: None",
    )
    result = run_process(*start, "demo", "--dir", "d", cwd=tmp_path, timeout=180)
    assert result.code == 1, result.out + result.err
    assert "internal error" not in result.err
    root = tmp_path / "d" / "task-manager"
    assert (
        "the demo's plan completed no fork (scripted answers that pass offline): every fork failed"
        f" on this machine; the project is kept at {root}" in result.err
    )
    assert "conductor explain step_001 --fork json-file" in result.err
    assert "No module named pytest" in result.out  # the failing fork's verify output, shown
    assert (root / ".git").is_dir()
