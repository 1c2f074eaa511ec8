"""Kill `conductor build` with SIGKILL at many points, resume, and check that every step was
committed exactly once, no event was recorded twice, and the repository is sound."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter

import pytest

from conductor.engine.confidence import signature
from conductor.runner.logs.memory import Memory
from tests.conftest import SANDBOX_MODES, assert_fsck_clean, conductor_bin, git, processes_with, wait_until
from tests.scenario import HELLO_STEPS as STEPS
from tests.scenario import Project, build_until_started

SCRIPT = {
    "step_001": [{"write": {"hello.py": "def greet(n):\n    return 'Hello, ' + n\n"}}],
    "step_002": {
        "1": [{"write": {"test_hello.py": "import hello\n", "deps.lock": "x\n"}}],  # rejected: protected
        "*": [{"write": {"test_hello.py": "import hello\nassert hello.greet('a') == 'Hello, a'\n"}}],
    },
}
# Before and after each kind of event (plan log, fork log, memory), some on a later occurrence.
FAILPOINTS = [
    "after:plan.created",
    "before:fork.created",
    "after:fork.created",
    "before:task.created",
    "after:task.created",
    "after:task.created#2",
    "after:task.created#3",
    "before:task.claimed",
    "after:task.claimed",
    "after:task.claimed#3",
    "before:result.received",
    "after:result.received",
    "after:result.received#2",
    "before:task.completed",
    "after:task.completed",
    "after:task.completed#2",
    "before:task.rejected",
    "after:task.rejected",
    "before:repair.scheduled",
    "after:repair.scheduled",
    "before:lesson.recorded",
    "after:lesson.recorded",
    "after:lesson.recorded#3",
    "before:fork.completed",
    "after:fork.completed",
    "before:plan.completed",
]
ONCE = {
    "fork.created",
    "task.created",
    "task.claimed",
    "result.received",
    "task.completed",
    "task.rejected",
    "task.failed",
    "repair.scheduled",
    "fork.completed",
}


def killed_at(proj: Project, failpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`conductor ARGS` in a process of its own, which kills itself at `failpoint`. (What comes
    after the crash — resume — runs in this process: it needs none of its own.)"""
    env = {**os.environ, "CONDUCTOR_FAILPOINTS": failpoint}
    return subprocess.run(
        [conductor_bin(), *args], cwd=proj.root, env=env, capture_output=True, text=True, timeout=120
    )


def check_exactly_once(proj: Project, base: str) -> None:
    plan = proj.only_plan()
    branch = proj.branch(plan)
    steps = git(proj.root, "log", "--format=%(trailers:key=Conductor-Step,valueonly)", f"{base}..{branch}")
    assert sorted(filter(None, steps.split())) == ["step_001", "step_002"]
    assert git(proj.root, "show", f"{branch}:test_hello.py").startswith("import hello")
    assert "deps.lock" not in git(proj.root, "ls-tree", "-r", "--name-only", branch)
    events = proj.events(plan)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    keys = Counter((e.type.value, e.step, e.attempt) for e in events if e.type.value in ONCE)
    assert [key for key, n in keys.items() if n > 1] == []
    assert events[-1].type.value == "fork.completed"
    plan_kinds = [e.type.value for e in proj.ledger().log(f"refs/conductor/plans/{plan}", newest_first=False)]
    assert plan_kinds.count("plan.created") == 1 and plan_kinds[-1] == "plan.completed"
    # each finished attempt taught memory exactly one lesson
    verdicts = [
        e
        for e in events
        if e.type.value in ("task.completed", "task.rejected", "task.timed_out")
        or (e.type.value == "task.failed" and e.data.get("kind") != "interrupted")
    ]
    memory = Memory(proj.ledger())
    counted = sum(memory.history(signature([s["allowed_files"][0]])).attempts for s in STEPS[:1])
    assert counted == len(verdicts)  # both steps share the ./*.py signature
    lessons = [e for e in proj.ledger().log("refs/conductor/memory", newest_first=False)]
    assert len(lessons) == len(verdicts)
    worktree = proj.worktree(plan)
    assert git(worktree, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(proj.root, "rev-parse", "HEAD").strip() == base
    assert git(proj.root, "status", "--porcelain") == ""
    assert_fsck_clean(proj.root)


@pytest.mark.slow
@pytest.mark.parametrize("failpoint", FAILPOINTS)
def test_killed_at_any_event_and_resumed(proj: Project, run_cli, failpoint: str) -> None:
    plan = proj.plan(STEPS)
    base = git(proj.root, "rev-parse", "HEAD").strip()
    command = proj.agent(SCRIPT)
    killed = killed_at(proj, failpoint, "build", "--plan", plan, "--exec", command, "--yes")
    assert killed.returncode == -signal.SIGKILL, (failpoint, killed.returncode, killed.stderr)
    resumed = run_cli("resume", "--yes")
    assert resumed.code == 0, resumed.err
    check_exactly_once(proj, base)
    again = run_cli("resume")
    assert again.code == 1 and "no plan is running or halted" in again.err


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_killed_while_the_command_runs_and_resumed(proj: Project, run_cli, sandbox: str) -> None:
    proj.sandbox(sandbox)
    plan = proj.plan(STEPS)
    base = git(proj.root, "rev-parse", "HEAD").strip()
    script = {
        **SCRIPT,
        "step_001": {
            "1": [{"write": {"hello.py": "half\n"}}, {"marker": "started"}, {"sleep": 60}],
            "*": SCRIPT["step_001"],
        },
    }
    agent = str(proj.scripts / "script.json")  # in the agent's command line, and nobody else's
    proc = build_until_started(proj, plan, script)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    if sandbox == "off":  # the agent outlived Conductor: it runs in a session of its own
        assert processes_with(agent)
    else:  # the sandbox dies with the process that started it
        wait_until(lambda: not processes_with(agent), timeout=5, what="the sandbox to end with Conductor")
    resumed = run_cli("resume")
    assert resumed.code == 0, resumed.err
    assert not processes_with(agent)
    interrupted = [e for e in proj.events() if e.type.value == "task.failed"]
    assert len(interrupted) == 1 and interrupted[0].data["kind"] == "interrupted"
    if sandbox == "off":
        assert "processes were killed" in interrupted[0].summary
    created = [(e.step, e.attempt) for e in proj.events() if e.type.value == "task.created"]
    assert created[:2] == [("step_001", 1), ("step_001", 2)]
    assert json.loads(proj.record("completed/step_001.result.json"))["attempt"] == 2
    check_exactly_once(proj, base)


@pytest.mark.slow
def test_resume_kills_only_what_conductor_started_never_a_process_the_mailbox_names(
    proj: Project, run_cli
) -> None:
    """The mailbox's worker file is writable by an agent without a sandbox: one that names
    another process group of the user's (an editor) does not get it killed on resume."""
    proj.sandbox("off")
    plan = proj.plan(STEPS)
    script = {**SCRIPT, "step_001": {"1": [{"marker": "started"}, {"sleep": 60}], "*": SCRIPT["step_001"]}}
    innocent = subprocess.Popen(["sleep", "86401"], start_new_session=True)
    try:
        proc = build_until_started(proj, plan, script)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        (worker,) = (proj.root / ".conductor" / "handoff").glob("plan_*/fork_main/in_progress/*.worker.json")
        data = json.loads(worker.read_text())
        worker.write_text(json.dumps({**data, "pgid": innocent.pid, "pid": innocent.pid}))
        resumed = run_cli("resume")
        assert resumed.code == 0, resumed.err
        assert innocent.poll() is None, "resume killed a process it did not start"
    finally:
        innocent.kill()
        innocent.wait()
