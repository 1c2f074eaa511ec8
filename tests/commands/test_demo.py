"""`conductor demo` as a user runs it: a real process, offline."""

from __future__ import annotations

import json
from pathlib import Path

from conductor.ledger.store import Ledger
from tests.conftest import assert_fsck_clean, conductor_bin, git, run_process


def test_demo_runs_and_cleans_up(tmp_path: Path) -> None:
    result = run_process(conductor_bin(), "demo", cwd=tmp_path, timeout=120)
    assert result.code == 0, result.out + result.err
    out, err = result.out, result.err
    assert "SCRIPTED agent" in out
    # the build: step 1 accepted, step 2 rejected for a protected file, then repaired
    assert "step_001: accepted" in err
    assert "step_002: Constraint violation: requirements.lock: added: protected by '*.lock'" in err
    assert "step_002 (attempt 2)" in err and "step_002: accepted" in err
    assert "step_002: completed (attempt 2)" in out
    # status, explain and metrics
    assert "[completed]" in out
    assert "REJECTED: Constraint violation (Touches a protected file)" in out
    assert "ACCEPTED" in out and "history" in out and "evidence" in out
    assert "violations:         1 protected_file" in out
    # the guard
    assert "commit refused" in out and "added poetry.lock  protected by '*.lock'" in out
    assert "has been removed" in out
    assert list(tmp_path.iterdir()) == []


def test_demo_keep_leaves_a_real_project_to_inspect(tmp_path: Path) -> None:
    result = run_process(conductor_bin(), "demo", "--dir", str(tmp_path / "d"), cwd=tmp_path, timeout=120)
    assert result.code == 0, result.err
    root = tmp_path / "d" / "greeting-project"
    assert "kept at" in result.out
    # the user's own branch is untouched: only the init and plan commits, no stray files
    assert git(root, "log", "--format=%s").splitlines() == ["Add the demo plan", "Set up Conductor"]
    assert git(root, "status", "--porcelain") == ""
    ledger = Ledger(root)
    (plan,) = ledger.plans()
    branch = f"conductor/{plan}/main"
    subjects = git(root, "log", "--format=%s", f"main..{branch}").splitlines()
    assert subjects == ["Add unit tests", "Create the greeting module"]
    assert sorted(git(root, "ls-tree", "--name-only", branch).split()) == [
        ".conductor",
        "greet.py",
        "plan.yaml",
        "test_greet.py",
    ]
    patch = git(root, "show", f"refs/conductor/forks/{plan}/main:evidence/step_002/attempt_1/rejected.patch")
    assert "requirements.lock" in patch
    events = [
        json.loads(line)
        for line in run_process(
            conductor_bin(), "-C", str(root), "events", "--oldest-first", "--json"
        ).out.splitlines()
    ]
    kinds = [e["type"] for e in events if e["fork"] == "main"]
    assert kinds.count("task.completed") == 2 and kinds.count("task.rejected") == 1
    assert kinds[-1] == "fork.completed"
    assert_fsck_clean(root)
