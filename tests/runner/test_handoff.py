"""The handoff executor with an external agent (this test) following PROTOCOL.md."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import assert_fsck_clean, conductor_bin, git, wait_until
from tests.scenario import Project

STEP = {
    "title": "Create hello.py",
    "instruction": "Create hello.py printing hello",
    "allowed_files": ["hello.py"],
}


def start(proj: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [conductor_bin(), *args], cwd=proj.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def fork_dir(proj: Project) -> Path:
    (plan_dir,) = (proj.root / ".conductor" / "handoff").glob("plan_*")
    return plan_dir / "fork_main"


def pending(proj: Project, step: str = "step_001", attempt: int = 1) -> dict[str, Any]:
    """The pending task of `attempt`, as soon as Conductor hands it out."""
    found: dict[str, Any] = {}

    def handed_out() -> bool:
        try:
            found.update(json.loads((fork_dir(proj) / "pending" / f"{step}.task.json").read_text()))
        except (FileNotFoundError, ValueError):  # no mailbox yet, no task yet, or being replaced
            return False
        return found.get("attempt") == attempt

    wait_until(handed_out, what=f"{step} attempt {attempt} in pending/")
    return found


def claim(proj: Project, step: str = "step_001") -> None:
    box = fork_dir(proj)
    os.rename(box / "pending" / f"{step}.task.json", box / "in_progress" / f"{step}.task.json")


def report(proj: Project, task: dict[str, Any], *, attempt: int | None = None, **fields: Any) -> None:
    box = fork_dir(proj) / "completed"
    step = task["task_id"]
    (box / f"{step}.explanation.md").write_text("# Done\n\nWrote the file.\n")
    result = {
        "task_id": step,
        "attempt": attempt or task["attempt"],
        "status": "completed",
        "summary": "Wrote hello.py",
        "files_changed": ["hello.py"],
        "agent": "Antigravity",
        "tokens": {"input": 1000, "output": 200},
        "cost": 0.002,
        **fields,
    }
    tmp = box / f".{step}.result.json.tmp"
    tmp.write_text(json.dumps(result))
    tmp.rename(box / f"{step}.result.json")


def test_an_external_agent_completes_a_task_through_the_mailbox(proj: Project) -> None:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    task = pending(proj)
    assert task["task_id"] == "step_001" and task["allowed_files"] == ["hello.py"]
    assert task["checksum"].startswith("sha256:") and task["confidence"]["level"] in ("high", "medium", "low")
    workspace = Path(task["workspace"])
    assert workspace == proj.worktree()
    claim(proj)
    (workspace / "hello.py").write_text("print('hello')\n")
    report(proj, task)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting for an agent to claim" in err and "PROTOCOL.md" in err
    assert "claimed by an agent" in err
    author = git(proj.root, "log", "-1", "--format=%an", proj.branch()).strip()
    assert author == "Antigravity"
    box = fork_dir(proj)
    assert sorted(p.name for p in (box / "completed").iterdir()) == [
        "step_001.explanation.md",
        "step_001.provenance.json",
        "step_001.result.json",
        "step_001.task.json",
    ]
    audit = [json.loads(line) for line in (box / "audit.log").read_text().splitlines()]
    assert [a["type"] for a in audit] == [e.type.value for e in proj.events()]
    handoff = proj.root / ".conductor" / "handoff"
    assert "claim it" in (handoff / "PROTOCOL.md").read_text().lower()
    metrics = json.loads((handoff / "metrics.json").read_text())
    assert metrics["by_status"]["completed"] == 1 and metrics["tokens"] == {"input": 1000, "output": 200}
    assert metrics["cost_usd"] == 0.002
    shown = subprocess.run(
        [conductor_bin(), "handoff-metrics"], cwd=proj.root, capture_output=True, text=True
    )
    assert "1000 in, 200 out; cost $0.0020" in shown.stdout


def test_nobody_claims_the_task_before_the_timeout(proj: Project) -> None:
    plan = proj.plan([{**STEP, "timeout_seconds": 1}], policy={"behavior": {"max_attempts": 1}})
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    kinds = [e.type.value for e in proj.events()]
    assert "task.claimed" not in kinds and "task.timed_out" in kinds and kinds[-1] == "fork.failed"
    assert "Task timeout: no result within timeout_seconds=1" in err


def test_a_late_result_for_an_old_attempt_is_refused(proj: Project) -> None:
    plan = proj.plan([{**STEP, "timeout_seconds": 2}])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    first = pending(proj)
    assert first["attempt"] == 1  # ignored: attempt 1 times out
    second = pending(proj, attempt=2)
    assert second["attempt"] == 2 and second["context"]["repair"]["failure"] == "Task timeout"
    workspace = Path(second["workspace"])
    (workspace / "hello.py").write_text("print('late')\n")
    report(proj, first)  # the slow agent finally answers attempt 1
    wait_until(lambda: any(e.type.value == "result.refused" for e in proj.events()))
    # the late change is reset (attempt 2 was not claimed yet), the late result dropped
    wait_until(lambda: not (workspace / "hello.py").exists())
    assert not (fork_dir(proj) / "completed" / "step_001.result.json").exists()
    claim(proj)
    (workspace / "hello.py").write_text("print('hello')\n")
    report(proj, second)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    events = proj.events()
    refusals = [e for e in events if e.type.value == "result.refused"]
    assert len(refusals) == 1 and refusals[0].data["stale_attempt"] == 1
    assert refusals[0].summary.startswith("Stale result: result for attempt 1, but attempt 2 is current")
    assert json.loads(proj.record("evidence/step_001/attempt_1/late.result.json"))["attempt"] == 1
    assert git(proj.root, "show", f"{proj.branch()}:hello.py") == "print('hello')\n"


def test_ctrl_c_halts_and_resume_rebuilds_a_deleted_mailbox(proj: Project) -> None:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    task = pending(proj)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Interrupted." in err and "Traceback" not in err
    assert proj.state().status.value == "halted"
    import shutil

    shutil.rmtree(proj.root / ".conductor" / "handoff")
    resumed = start(proj, "resume")
    again = pending(proj)
    assert again["checksum"] == task["checksum"]  # the same task, rebuilt from the ledger
    claim(proj)
    (Path(again["workspace"]) / "hello.py").write_text("print('hello')\n")
    report(proj, again)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    kinds = [e.type.value for e in proj.events()]
    assert kinds.count("task.created") == 1
    assert "fork.halted" in kinds and "fork.resumed" in kinds and kinds[-1] == "fork.completed"
    plan_events = [
        e.type.value
        for e in proj.ledger().log(f"refs/conductor/plans/{proj.only_plan()}", newest_first=False)
    ]
    assert plan_events == ["plan.created", "plan.halted", "plan.resumed", "plan.completed"]
    assert_fsck_clean(proj.root)


def test_a_second_process_cannot_run_the_same_plan(proj: Project) -> None:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    pending(proj)
    second = subprocess.run([conductor_bin(), "resume"], cwd=proj.root, capture_output=True, text=True)
    assert second.returncode == 1
    assert "is being run by conductor pid" in second.stderr
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
