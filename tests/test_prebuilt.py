"""`prebuilt` and `copy_project`: a project built once per test process is copied for each test
that starts from it, and every copy — its repository, its scripts, its fork worktrees — is its own."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.scenario import HELLO_STEPS, Project, build, copy_project

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}


def test_a_copy_and_its_fork_worktree_are_its_own(prebuilt, run_cli, tmp_path: Path) -> None:
    def make(proj: Project) -> None:
        result = build(run_cli, proj, proj.plan(HELLO_STEPS[:1]), proj.agent({"step_001": [HELLO]}))
        assert result.code == 0, result.err

    first = prebuilt("copies", make)
    assert first.root == tmp_path / "copies" / "proj" and Path.cwd() == first.root
    assert run_cli("verify").code == 0  # the records and commits came along whole
    second = copy_project(first, tmp_path / "second")
    for copy in (first, second):
        worktree = copy.worktree()
        assert git(worktree, "rev-parse", "--path-format=absolute", "--git-common-dir").strip() == str(
            copy.root / ".git"
        )
        assert f"worktree {worktree}\n" in git(copy.root, "worktree", "list", "--porcelain")
        assert (worktree / "hello.py").exists() and copy.scripts.is_dir()
    before = git(first.root, "rev-parse", first.branch()).strip()
    git(second.worktree(), "commit", "-q", "--allow-empty", "-m", "only in the second copy")
    assert git(first.root, "rev-parse", first.branch()).strip() == before
    assert git(second.root, "rev-parse", f"{second.branch()}~1").strip() == before
