"""The guard's fixtures: a repository with a committed policy and Conductor's hooks, and this
checkout as a hook repository the real pre-commit framework installs from."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import PYTHON, ROOT, Result, git, run_process

POLICY = """\
file_rules:
  protected_patterns:
    - '*.lock'
    - 'migrations/*'
"""


@pytest.fixture
def guarded(repo: Path, run_cli) -> Path:
    """A repository with a committed policy, protected files, and the native hook installed."""
    (repo / ".conductor").mkdir()
    (repo / ".conductor" / "policy.yaml").write_text(POLICY)
    (repo / "poetry.lock").write_text("v1\n")
    (repo / "migrations").mkdir()
    (repo / "migrations" / "0001.py").write_text("up\n")
    (repo / "app.py").write_text("print(1)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    result = run_cli("hooks", "install")
    assert result.code == 0, result.err
    assert "pre-commit: installed" in result.out
    return repo


@dataclass(frozen=True)
class HookRepo:
    """This checkout as a `repo:` and `rev:` of a .pre-commit-config.yaml (as the README says a
    release will be used), with the PRE_COMMIT_HOME the framework keeps its hook environments in."""

    url: Path
    rev: str
    home: Path

    def run(self, cwd: Path, hook: str, *args: str, env: dict[str, str] | None = None) -> Result:
        """`pre-commit run` in `cwd` with a config that takes hook `hook` from this repository."""
        config = cwd.parent / f".pre-commit-config-{hook}.yaml"  # outside the repository it checks
        hooks = {"repos": [{"repo": str(self.url), "rev": self.rev, "hooks": [{"id": hook}]}]}
        config.write_text(yaml.safe_dump(hooks))
        return run_process(
            PYTHON,
            "-m",
            "pre_commit",
            "run",
            "--config",
            str(config),
            *args,
            cwd=cwd,
            env={**(os.environ if env is None else env), "PRE_COMMIT_HOME": str(self.home)},
            timeout=600,
        )


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    """This checkout as `pre-commit try-repo` would install from it — HEAD with the uncommitted
    changes of tracked files committed on top, in a clone (the checkout's index and objects are
    only read) — and one PRE_COMMIT_HOME for the test session: the framework builds the hooks'
    environment (pip installs Conductor, ~15 s) once, for every test that runs it, where each
    `try-repo` built its own. Test processes (xdist) take turns; the first one makes it."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the session's
    url, home, made = shared / "hook-repo", shared / "pre-commit-home", shared / "hook-repo.rev"
    with (shared / "hook-repo.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not made.exists():
            shutil.rmtree(url, ignore_errors=True)
            git(shared, "clone", "-q", str(ROOT), str(url))
            git(url, "checkout", "-q", "--detach", git(ROOT, "rev-parse", "HEAD").strip())
            read_only = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # no index refresh in the checkout
            diff = ["git", "diff", "--binary", "HEAD"]
            changes = subprocess.run(diff, cwd=ROOT, env=read_only, capture_output=True, check=True).stdout
            if changes:
                subprocess.run(["git", "apply", "--index"], cwd=url, input=changes, check=True)
                # a commit of the tests' own, needing no git identity of the user
                who = ("-c", "user.name=Conductor tests", "-c", "user.email=tests@conductor.invalid")
                git(url, *who, "commit", "-q", "--no-verify", "-m", "uncommitted changes")
            made.write_text(git(url, "rev-parse", "HEAD").strip())
    return HookRepo(url, made.read_text(), home)
