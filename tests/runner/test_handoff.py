"""The handoff executor with an external agent (this test) following PROTOCOL.md."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conductor.executors.base import Assignment, Waiting
from conductor.executors.handoff import MAX_REFUSALS, POLL_SECONDS, REMIND_SECONDS, HandoffExecutor
from conductor.mailbox import Mailbox
from conductor.models.confidence import Confidence
from conductor.models.task import TaskFile
from tests.conftest import assert_fsck_clean, conductor_bin, conductor_with, git, wait_until
from tests.scenario import Project

STEP = {
    "title": "Create hello.py",
    "instruction": "Create hello.py printing hello",
    "allowed_files": ["hello.py"],
}


QUICK = {  # a malformed result refused once it stood 50 ms, not a second; a look every 20 ms
    "conductor.executors.handoff.SETTLE_SECONDS": 0.05,
    "conductor.executors.handoff.POLL_SECONDS": 0.02,
}


def start(
    proj: Project, *args: str, constants: dict[str, float] | None = None, setup: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """`conductor ARGS` in a process of its own; with `constants` or `setup`, set or run first
    (tests/conftest.py conductor_with)."""
    command = conductor_with(constants or {}, *setup) if constants or setup else [conductor_bin()]
    return subprocess.Popen(
        [*command, *args], cwd=proj.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
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


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
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
    box = fork_dir(proj)
    said = re.search(r"step_001: waiting for an agent to write (.*)", err)
    assert said is not None, err
    assert said.group(1).startswith(
        f"{box / 'completed' / 'step_001.result.json'} (or failed/step_001.result.json)"
        f" for step_001 attempt 1 (task: {box}/"  # pending/, or in_progress/ when claimed at once
    )
    assert (
        f"step_001.task.json; protocol: {proj.root / '.conductor' / 'handoff' / 'PROTOCOL.md'})"
        in said.group(1)
    )
    assert re.search(r"; deadline in (5m|4m 5\ds) \(at \d\d:\d\d:\d\d UTC; timeout 300s\)$", said.group(1))
    assert "claimed by an agent" in err and "without a claim" not in err
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
    assert metrics["by_state"]["completed"] == 1 and metrics["tokens"] == {"input": 1000, "output": 200}
    assert metrics["cost_usd"] == 0.002
    shown = subprocess.run(
        [conductor_bin(), "handoff-metrics"], cwd=proj.root, capture_output=True, text=True
    )
    assert "1000 in, 200 out; cost $0.0020" in shown.stdout


@pytest.mark.slow  # waits out a deadline
def test_nobody_claims_the_task_before_the_timeout(proj: Project) -> None:
    plan = proj.plan([{**STEP, "timeout_seconds": 3}], policy={"behavior": {"max_attempts": 1}})
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    kinds = [e.type.value for e in proj.events()]
    assert "task.claimed" not in kinds and "task.timed_out" in kinds and kinds[-1] == "fork.failed"
    assert "Task timeout: no result within timeout_seconds=3" in err
    # it said what it waited for, then what happened and what to do
    result = fork_dir(proj) / "completed" / "step_001.result.json"
    assert f"step_001: waiting for an agent to write {result}" in err
    assert "for step_001 attempt 1 (task: " in err and re.search(r"; deadline in [0-3]s \(at ", err)
    assert (
        f"step_001 attempt 1: the deadline passed (timeout_seconds=3): no agent claimed it or wrote {result}."
        " That was the last attempt (behavior.max_attempts=1), so the fork fails: start an agent that"
        f" follows {proj.root / '.conductor' / 'handoff' / 'PROTOCOL.md'} and run the plan again"
    ) in err


@pytest.mark.slow  # waits out a deadline
def test_an_mcp_task_nobody_answers_says_to_connect_an_mcp_client(proj: Project) -> None:
    plan = proj.plan([{**STEP, "timeout_seconds": 2}], policy={"behavior": {"max_attempts": 1}})
    proc = start(proj, "build", "--plan", plan, "--executor", "mcp", "--yes")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    protocol = proj.root / ".conductor" / "handoff" / "PROTOCOL.md"
    assert (
        "so the fork fails: start an MCP client connected to `conductor mcp` (docs/mcp.md), or an agent"
        f" that follows {protocol} and run the plan again"
    ) in err


@pytest.mark.slow  # waits out a deadline
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
    # the late change is reset (attempt 2 was not claimed yet); the late result is set aside, kept
    wait_until(lambda: not (workspace / "hello.py").exists())
    completed = fork_dir(proj) / "completed"
    assert not (completed / "step_001.result.json").exists()
    assert json.loads((completed / "step_001.result.json.stale-1").read_text())["attempt"] == 1
    assert (completed / "step_001.explanation.md.stale-1").read_text() == "# Done\n\nWrote the file.\n"
    claim(proj)
    (workspace / "hello.py").write_text("print('hello')\n")
    report(proj, second)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    result = fork_dir(proj) / "completed" / "step_001.result.json"
    assert (
        "step_001 attempt 1: the deadline passed (timeout_seconds=2): no agent claimed it or wrote"
        f" {result}. Attempt 2 is handed out next: start an agent that follows"
    ) in err
    events = proj.events()
    refusals = [e for e in events if e.type.value == "result.refused"]
    assert len(refusals) == 1 and refusals[0].data["stale_attempt"] == 1
    assert refusals[0].summary.startswith("Stale result: result for attempt 1, but attempt 2 is current")
    assert refusals[0].data["kept_as"] == "completed/step_001.result.json.stale-1"
    assert json.loads(proj.record("evidence/step_001/attempt_1/late.result.json"))["attempt"] == 1
    assert proj.record("evidence/step_001/attempt_1/late.explanation.md") == "# Done\n\nWrote the file.\n"
    assert (fork_dir(proj) / "completed" / "step_001.result.json.stale-1").exists()  # still there
    metrics = json.loads((proj.root / ".conductor" / "handoff" / "metrics.json").read_text())
    assert metrics["stale_results_refused"] == 1 and metrics["malformed_results_refused"] == 0
    assert git(proj.root, "show", f"{proj.branch()}:hello.py") == "print('hello')\n"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
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
    # resuming says what it waits for: the result file, the step and attempt, the task, the deadline
    result = fork_dir(proj) / "completed" / "step_001.result.json"
    assert f"waiting for an agent to write {result}" in err and "for step_001 attempt 1 (task: " in err
    assert "; deadline in " in err
    kinds = [e.type.value for e in proj.events()]
    assert kinds.count("task.created") == 1
    assert "fork.halted" in kinds and "fork.resumed" in kinds and kinds[-1] == "fork.completed"
    plan_events = [
        e.type.value
        for e in proj.ledger().log(f"refs/conductor/plans/{proj.only_plan()}", newest_first=False)
    ]
    assert plan_events == ["plan.created", "plan.halted", "plan.resumed", "plan.completed"]
    assert_fsck_clean(proj.root)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_second_process_cannot_run_the_same_plan(proj: Project, run_cli) -> None:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    pending(proj)
    second = run_cli("resume")  # this test's process is the second one
    assert second.code == 1
    assert f"is being run by conductor pid {proc.pid}" in second.err
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_malformed_result_is_refused_whole_and_corrected_within_the_attempt(proj: Project, run_cli) -> None:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes", constants=QUICK)
    task = pending(proj)
    claim(proj)
    workspace = Path(task["workspace"])
    (workspace / "hello.py").write_text("print('hello')\n")
    completed = fork_dir(proj) / "completed"
    problems_file = completed / "step_001.result.problems.txt"

    # first a JSON syntax error: the line and column are named
    syntax = b'{"task_id": "step_001",\n "attempt": 1,,\n}'
    (completed / "step_001.result.json").write_bytes(syntax)
    wait_until(lambda: (completed / "step_001.result.json.rejected-1").exists(), what="the file set aside")
    wait_until(problems_file.exists, what="the problems file")
    assert "completed/step_001.result.json: Invalid JSON at line 2, column 15" in problems_file.read_text()

    # then three schema errors at once: all three reported, in the problems file and the ledger
    malformed = {"task_id": "step_001", "attempt": 1, "status": "done", "summary": 5, "files_changed": [3]}
    (completed / "step_001.result.json").write_text(json.dumps(malformed))
    wait_until(lambda: (completed / "step_001.result.json.rejected-2").exists(), what="the second set aside")
    wait_until(lambda: "rejected-2" in problems_file.read_text(), what="the problems of the second")
    text = problems_file.read_text()
    assert "Conductor refused completed/step_001.result.json for step_001 attempt 1: 3 problems." in text
    for problem in (
        "completed/step_001.result.json: status: must be 'completed' or 'failed' (it is 'done')",
        "completed/step_001.result.json: summary: must be a string (it is 5)",
        "completed/step_001.result.json: files_changed.0: must be a string (it is 3)",
    ):
        assert f"- {problem}\n" in text
    assert "your changes\nin the workspace are kept" in text and "deadline in " in text
    assert not (completed / "step_001.result.json").exists()
    assert (workspace / "hello.py").read_text() == "print('hello')\n"  # the work is not reset
    refusals = [e for e in proj.events() if e.type.value == "result.refused"]
    assert [r.data["kind"] for r in refusals] == ["invalid_result", "invalid_result"]
    assert len(refusals[1].data["problems"]) == 3
    shown = run_cli("events", "--plan", proj.only_plan(), "--type", "result.refused", "--json").out
    newest = json.loads(shown.splitlines()[0])
    assert newest["summary"].startswith(
        "Invalid result: 3 problems in completed/step_001.result.json"
        " (kept as completed/step_001.result.json.rejected-2): status: must be 'completed' or 'failed'"
    )
    assert (
        newest["data"]["problems"][2]
        == "completed/step_001.result.json: files_changed.0: must be a string (it is 3)"
    )

    # the agent corrects it: the same attempt is accepted, with its work
    report(proj, task)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "refused completed/step_001.result.json (3 problems; kept as" in err
    assert "completed/step_001.result.json: files_changed.0: must be a string (it is 3)" in err
    events = proj.events()
    kinds = [e.type.value for e in events]
    assert kinds.count("task.created") == 1 and "task.completed" in kinds and "task.rejected" not in kinds
    assert [e.attempt for e in events if e.type.value == "task.completed"] == [1]
    assert git(proj.root, "show", f"{proj.branch()}:hello.py") == "print('hello')\n"
    # the malformed files are kept as evidence: in the mailbox and in the ledger
    assert (completed / "step_001.result.json.rejected-1").read_bytes() == syntax
    assert json.loads((completed / "step_001.result.json.rejected-2").read_text()) == malformed
    assert proj.record("evidence/step_001/attempt_1/refused-1.result.json").encode() == syntax
    assert json.loads(proj.record("evidence/step_001/attempt_1/refused-2.result.json")) == malformed
    assert not problems_file.exists()  # the step is done: nothing left to correct
    metrics = json.loads(run_cli("handoff-metrics", "--json").out)
    assert metrics["malformed_results_refused"] == 2 and metrics["stale_results_refused"] == 0
    assert "malformed results refused: 2" in run_cli("handoff-metrics").out


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_claiming_is_optional_a_result_without_a_claim_is_taken(proj: Project) -> None:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    task = pending(proj)
    (Path(task["workspace"]) / "hello.py").write_text("print('hello')\n")
    report(proj, task)  # straight from pending/, never renamed into in_progress/
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "step_001: a result without a claim (claiming is optional): taken as the claim" in err
    claims = [e for e in proj.events() if e.type.value == "task.claimed"]
    assert len(claims) == 1 and claims[0].data["worker"]["note"] == "result without a claim"
    protocol = (proj.root / ".conductor" / "handoff" / "PROTOCOL.md").read_text()
    assert "Claiming is optional" in protocol


@pytest.mark.slow  # two conductor processes: one stopped with Ctrl-C, then a resume
def test_resuming_after_the_deadline_says_so_and_what_to_do(proj: Project) -> None:
    plan = proj.plan([{**STEP, "timeout_seconds": 60}], policy={"behavior": {"max_attempts": 1}})
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    pending(proj)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    # nobody came while Conductor was stopped, for longer than the timeout: the resumed process
    # lives a minute later (its wall clock, by which deadlines go, runs 61 s ahead)
    later = ("import time", "now = time.time", "time.time = lambda: now() + 61")
    resumed = start(proj, "resume", setup=later)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 1, err
    result = fork_dir(proj) / "completed" / "step_001.result.json"
    assert re.search(
        r"step_001: the deadline of attempt 1 passed at \d\d:\d\d:\d\d UTC, before this run began to wait"
        rf" \(Conductor was stopped\); looking once for {re.escape(str(result))}",
        err,
    ), err
    assert "waiting for an agent" not in err  # it does not pretend to wait
    assert (
        "step_001 attempt 1: the deadline passed (timeout_seconds=60): no agent claimed it or wrote"
        f" {result}. That was the last attempt (behavior.max_attempts=1), so the fork fails"
    ) in err


def test_the_wait_is_recalled_every_thirty_seconds(tmp_path: Path) -> None:
    """The handoff's wait on a clock this test drives: no reminder in the first thirty seconds,
    then one every thirty (what a reminder says: the next test)."""
    clock = [0.0]
    said: list[tuple[float, str]] = []
    task = TaskFile(
        task_id="step_001",
        instruction="x",
        allowed_files=["hello.py"],
        timeout_seconds=3600,
        confidence=Confidence(score=0.5),
    )
    assignment = Assignment(
        task=task,
        mailbox=Mailbox(tmp_path, "p", "main"),
        workspace=tmp_path,
        deadline=time.time() + 3600,
        claimed=False,
        on_claim=lambda worker: None,
        on_stale=lambda found, attempt: None,
        say=lambda text: said.append((clock[0], text)),
    )
    waiting = Waiting(
        assignment,
        poll_seconds=POLL_SECONDS,
        remind_seconds=REMIND_SECONDS,
        reminder=lambda claimed: HandoffExecutor()._waiting(assignment, claimed, first=False),
        clock=lambda: clock[0],
        sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
    )
    while clock[0] < 100:
        assert waiting.pause(claimed=clock[0] > 50) is None
    assert REMIND_SECONDS == 30
    gaps = [b - a for a, b in itertools.pairwise([0.0] + [at for at, _ in said])]
    assert len(gaps) == 3 and all(30 < gap <= 30 + POLL_SECONDS + 1e-6 for gap in gaps), gaps
    assert [text.split(", waiting for ")[0] for _, text in said] == [
        "step_001: still not claimed",
        "step_001: still claimed",
        "step_001: still claimed",
    ]


@pytest.mark.slow  # a conductor process, until its first reminder
def test_a_reminder_names_the_result_the_task_and_the_time_left(proj: Project) -> None:
    plan = proj.plan([{**STEP, "timeout_seconds": 120}])
    remind = {"conductor.executors.handoff.REMIND_SECONDS": 1.0}  # as at 30 s, without the wait
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes", constants=remind)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:  # until the first reminder
        lines.append(line)
        if "still" in line:
            break
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    result = fork_dir(proj) / "completed" / "step_001.result.json"
    assert re.search(
        rf"step_001: still not claimed, waiting for an agent to write {re.escape(str(result))} .*"
        r" for step_001 attempt 1 \(task: .*pending/step_001.task.json; .*\); deadline in 1m [45]\ds \(at ",
        lines[-1],
    ), lines


@pytest.mark.slow  # a conductor process through eleven results and a second attempt
def test_an_agent_that_keeps_writing_malformed_results_fails_the_attempt(proj: Project) -> None:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes", constants=QUICK)
    try:
        pending(proj)
        claim(proj)
        completed = fork_dir(proj) / "completed"
        for n in range(1, MAX_REFUSALS + 2):
            (completed / "step_001.result.json").write_text(f'{{"task_id": "step_001", "n": {n}}}')
            if n <= MAX_REFUSALS:
                wait_until(
                    lambda n=n: (completed / f"step_001.result.json.rejected-{n}").exists(),
                    what=f"refusal {n}",
                )
        pending(proj, attempt=2)  # the eleventh is the attempt's result: it fails, a repair follows
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    events = proj.events()
    refusals = [e for e in events if e.type.value == "result.refused"]
    assert len(refusals) == MAX_REFUSALS
    (failed,) = [e for e in events if e.type.value in ("task.rejected", "task.failed") and e.attempt == 1]
    assert failed.data["kind"] == "invalid_result" and "status" in failed.summary
    assert [e.attempt for e in events if e.type.value == "task.created"] == [1, 2]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_users_own_files_are_never_touched_while_an_ide_agent_works(proj: Project, run_cli) -> None:
    """The person keeps working in their checkout while the agent does the step (and while the
    plan is halted): a new file, an edit of a tracked one. They are reported, never moved or
    reverted, and the agent's correct attempt is accepted."""
    (proj.root / "app.py").write_text("print('app')\n")
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    task = pending(proj)
    proc.send_signal(signal.SIGINT)  # halted with the task handed out: the person goes on
    assert proc.wait(timeout=30) == 130
    (proj.root / "scratch.py").write_text("# the user's notes\n")
    resumed = start(proj, "resume")
    again = pending(proj)
    assert again["checksum"] == task["checksum"]
    claim(proj)
    (proj.root / "app.py").write_text("print('app, edited by its owner')\n")
    (Path(again["workspace"]) / "hello.py").write_text("print('hello')\n")
    report(proj, again)
    _, err = resumed.communicate(timeout=60)

    assert resumed.returncode == 0, err
    assert (proj.root / "scratch.py").read_text() == "# the user's notes\n"
    assert (proj.root / "app.py").read_text() == "print('app, edited by its owner')\n"
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert verdict["accepted"] and sorted(verdict["checkout_changed"]) == ["app.py", "scratch.py"]
    assert "files of your checkout changed while the step ran" in err
    assert git(proj.root, "show", f"{proj.branch()}:hello.py") == "print('hello')\n"
    assert not (proj.root / ".git" / "conductor" / "quarantine").exists()
