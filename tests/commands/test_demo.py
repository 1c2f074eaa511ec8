"""`conductor demo` as a user runs it: a real process, offline."""

from __future__ import annotations

import json
from pathlib import Path

from conductor.ledger.store import Ledger
from tests.conftest import assert_fsck_clean, conductor_bin, git, run_process


def test_demo_runs_and_cleans_up(tmp_path: Path) -> None:
    result = run_process(conductor_bin(), "demo", cwd=tmp_path, timeout=120)
    assert result.code == 0, result.out + result.err
    out = result.out
    assert "conductor policy" in out and "'*.lock'" in out and ".conductor/policy.yaml:14" in out
    assert "plan.created" in out and "task.claimed" in out and "step_001#1" in out
    assert "plan demo-hello  [running]" in out
    assert "commit refused" in out and "added poetry.lock  protected by '*.lock'" in out
    assert "(exit code 1: the commit was refused)" in out
    assert "(exit code 0: hello.py is not protected" in out
    assert "has been removed" in out
    assert list(tmp_path.iterdir()) == []


def test_demo_keep_leaves_a_real_project_to_inspect(tmp_path: Path) -> None:
    result = run_process(conductor_bin(), "demo", "--dir", str(tmp_path / "d"), cwd=tmp_path, timeout=120)
    assert result.code == 0, result.err
    root = tmp_path / "d" / "hello-project"
    assert "kept at" in result.out
    assert git(root, "log", "--format=%s").splitlines() == ["Add hello.py", "Set up Conductor"]
    assert "poetry.lock" not in git(root, "ls-files")
    ledger = Ledger(root)
    assert [e.type.value for e in ledger.events(newest_first=False)] == [
        "plan.created",
        "fork.created",
        "task.created",
        "task.claimed",
    ]
    task = json.loads(
        git(root, "show", "refs/conductor/forks/demo-hello/main:in_progress/step_001.task.json")
    )
    assert task["task_id"] == "step_001" and task["confidence"] == {"score": 0.89, "level": "high"}
    assert_fsck_clean(root)
    events = run_process(conductor_bin(), "-C", str(root), "events", "--json")
    assert len(events.out.splitlines()) == 4
