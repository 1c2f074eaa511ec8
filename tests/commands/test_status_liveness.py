"""`conductor status` over real runs: newest plan first with its start time, and a plan whose
runner is gone shown as interrupted (with the resume hint), one whose runner lives as running."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from conductor.runner.logs.planlock import plan_lock
from tests.conftest import processes_with
from tests.scenario import Project, build, build_until_started

ONE_STEP = [{"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]}]


def test_plans_are_listed_newest_first_with_their_start_time(proj: Project, run_cli) -> None:
    agent = proj.agent({"*": [{"write": {"a.txt": "a\n"}}]})
    assert build(run_cli, proj, proj.plan(ONE_STEP, goal="first goal", name="one.yaml"), agent).code == 0
    assert build(run_cli, proj, proj.plan(ONE_STEP, goal="second goal", name="two.yaml"), agent).code == 0
    data = json.loads(run_cli("status", "--json").out)
    assert [p["goal"] for p in data] == ["second goal", "first goal"]
    assert data[0]["created_at"] > data[1]["created_at"]
    # every time in one format, ISO 8601 in UTC: the plan's creation and its fork's last event
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
    assert all(iso.match(p["created_at"]) and iso.match(p["forks"][0]["updated_at"]) for p in data)
    assert data[0]["forks"][0]["updated_at"] >= data[0]["created_at"]
    assert all(p["state"] == "completed" and p["hint"] is None for p in data)
    text = run_cli("status").out
    heads = [line for line in text.splitlines() if line.startswith("plan ")]
    assert [h.endswith(goal) for h, goal in zip(heads, ["second goal", "first goal"], strict=True)] == [
        True,
        True,
    ]
    for head, plan in zip(heads, data, strict=True):
        created = plan["created_at"]
        assert f"[completed]  started {created[:10]} {created[11:16]}  " in head


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_plan_whose_runner_was_killed_is_interrupted_with_the_resume_hint(proj: Project, run_cli) -> None:
    plan_file = proj.plan(ONE_STEP, goal="slow goal")
    script = {
        "step_001": {
            "1": [{"write": {"a.txt": "half\n"}}, {"marker": "started"}, {"sleep": 60}],
            "*": [{"write": {"a.txt": "a\n"}}],
        }
    }
    agent = str(proj.scripts / "script.json")  # in the agent's command line, and nobody else's
    proc = build_until_started(proj, plan_file, script)
    try:
        plan = proj.only_plan()
        # while its runner lives (it holds the plan's lock), the plan runs
        live = json.loads(run_cli("status", "--json").out)
        assert live[0]["state"] == "running" and live[0]["hint"] is None
        assert live[0]["forks"][0]["state"] == "running"
        assert f"plan {plan}  [running]" in run_cli("status").out
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        for pid in processes_with(agent):  # the agent runs in a session of its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    text = run_cli("status")
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[0].startswith(f"plan {plan}  [interrupted]  started ")
    assert f"continue it with `conductor resume {plan}`" in lines[1]
    assert any("fork main" in line and "[interrupted]" in line for line in lines)
    assert "[running]" not in text.out
    data = json.loads(run_cli("status", "--json").out)
    assert data[0]["state"] == "interrupted"
    assert f"conductor resume {plan}" in data[0]["hint"]
    assert data[0]["forks"][0]["state"] == "interrupted"
    # the log itself is untouched: resume continues the plan and it completes
    resumed = run_cli("resume", plan, "--yes")
    assert resumed.code == 0, resumed.err
    assert json.loads(run_cli("status", "--json").out)[0]["state"] == "completed"


def test_a_status_probe_never_makes_a_starting_runner_fail(project: Path) -> None:
    git_dir = project / ".git"
    lock = git_dir / "conductor" / "locks" / "p1.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    fd = os.open(lock, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # the probe, caught in the act
    releaser = threading.Timer(0.1, lambda: os.close(fd))
    releaser.start()
    began = time.monotonic()
    with plan_lock(git_dir, "p1"):  # waits for the probe to let go, instead of refusing
        assert time.monotonic() - began >= 0.05
    releaser.join()


def test_status_reads_a_fork_from_its_tip_and_says_what_folding_its_log_says(proj: Project, run_cli) -> None:
    from conductor.engine.state import ForkState
    from conductor.ledger import refs
    from conductor.runner.logs import records
    from conductor.runner.views.status import _event_confidence

    steps = [
        {"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]},
        {"title": "Write two.py", "instruction": "Write two.py", "allowed_files": ["two.py"]},
    ]
    script = {
        "step_001": {
            "1": [{"write": {"new.py": "x = 1\n", "uv.lock": "pinned\n"}}],  # rejected: protected
            "2": [{"write": {"new.py": "x = 2\n"}}],
        },
        "step_002": [{"write": {"two.py": "y = 2\n"}}],
    }
    assert build(run_cli, proj, proj.plan(steps), proj.agent(script)).code == 0
    ledger, plan = proj.ledger(), proj.only_plan()
    ref = refs.fork_log(plan, "main")
    tip = ledger.tip(ref)
    assert tip is not None and records.read_state(tip, plan, "main") is not None  # the tip keeps it
    fork = json.loads(run_cli("status", "--json").out)[0]["forks"][0]
    events = list(ledger.log(ref, newest_first=False))
    folded = ForkState.replay(plan, "main", events)
    assert fork["state"] == folded.status.value == "completed"
    assert [(s["step"], s["state"], s["attempt"]) for s in fork["steps"]] == [
        ("step_001", "completed", 2),
        ("step_002", "completed", 1),
    ]
    assert {s["step"]: s["confidence"] for s in fork["steps"]} == _event_confidence(events)
    assert set(_event_confidence(events)) == {"step_001", "step_002"}
