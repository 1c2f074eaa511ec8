"""Readers take a fork's state from its log's tip (runner/logs/forkstate.py, docs/storage.md "The
folded state"): `explain`, the comparison, the pull request's description and the approval
lookup read no fork log whole, and say what folding the whole log says (issue 21, point 6)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

from conductor.errors import NotFoundError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.runner.logs import approval, records
from conductor.runner.publish import prsteps
from conductor.runner.views import compare, point
from tests.commands.test_fork_provenance import built, forked
from tests.conftest import conductor_bin, git, wait_until
from tests.scenario import TWO_FORKS, Project, build

REPAIRED = {
    "step_001": {
        "1": [{"write": {"a.txt": "a\n", "uv.lock": "pinned\n"}}],  # rejected: a protected file
        "*": [{"write": {"a.txt": "a\n"}}, {"result": {"tokens": {"input": 5, "output": 2}}}],
    },
    "step_002": [{"write": {"b.txt": "b\n"}}],
    "step_003": [{"write": {"c.txt": "c\n"}}],
}


@contextmanager
def reading(monkeypatch: pytest.MonkeyPatch, *, kept: bool) -> Iterator[None]:
    """kept: no fork log may be read whole (the tip has to say); else the tips keep nothing and
    every fork log is folded, as before the state was kept."""
    with monkeypatch.context() as patch:
        if kept:
            whole = Ledger.log

            def refused(self: Ledger, ref: str, *, newest_first: bool = True) -> Iterator[Any]:
                # a fork log may be read back from its tip (the events since a kept point), never
                # down to its first event
                for event in whole(self, ref, newest_first=newest_first):
                    assert not (ref.startswith(refs.FORKS_PREFIX) and event.seq == 1), (
                        f"read the whole log {ref}"
                    )
                    yield event

            patch.setattr(Ledger, "log", refused)
        else:
            patch.setattr(records, "read_state", lambda *args, **kwargs: None)
        yield


def both(monkeypatch: pytest.MonkeyPatch, read: Any) -> Any:
    """What `read()` says from the kept state, which must be what it says folding the logs."""
    with reading(monkeypatch, kept=False):
        folded = read()
    with reading(monkeypatch, kept=True):
        kept = read()
    assert kept == folded
    return kept


def test_explain_reads_the_steps_state_and_events_not_the_log(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [
        {"title": f"Write {name}", "instruction": f"Write {name}", "allowed_files": [name]}
        for name in ("a.txt", "b.txt", "c.txt")
    ]
    assert build(run_cli, proj, proj.plan(steps), proj.agent(REPAIRED)).code == 0
    for step in ("step_001", "step_002"):
        data = both(monkeypatch, lambda step=step: json.loads(run_cli("explain", step, "--json").out))
        assert data["state"] == "completed" and data["events"][0]["type"] == "task.created"
    first = both(monkeypatch, lambda: json.loads(run_cli("explain", "step_001", "--json").out))
    assert [a["attempt"] for a in first["attempts"]] == [1, 2]
    assert first["attempts"][1]["commit"] and first["events"][-1]["type"] == "task.completed"
    assert {e["step"] for e in first["events"]} == {"step_001"}
    text = both(monkeypatch, lambda: run_cli("explain", "step_002").out)
    assert "ACCEPTED" in text and "Events:" in text


def test_the_comparison_reads_each_forks_state_and_totals_not_the_log(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (proj.root / "forks.yaml").write_text(yaml.safe_dump(TWO_FORKS, sort_keys=False))
    git(proj.root, "add", "forks.yaml")
    git(proj.root, "commit", "-q", "-m", "forks")
    script = {
        "step_001": [{"write": {"notes.md": "# notes\n"}}, {"result": {"tokens": {"input": 3, "output": 1}}}],
        "step_002": [{"write": {"more.md": "more\nand more\n"}}],
    }
    explored = run_cli("explore", "--plan", "forks.yaml", "--exec", proj.agent(script), "--yes", "--json")
    assert explored.code == 0, explored.err
    plan = proj.ledger().plans()[0]
    found = both(monkeypatch, lambda: compare.current(proj.ledger(), plan, "completed").to_json())
    long = next(f for f in found["forks"] if f["fork"] == "long")
    assert long["steps"] == {"passed": 2, "total": 2} and long["diff_lines"] == 3 and long["tokens"] == 4
    assert long["seconds"] is not None and long["confidence"] is not None
    recorded = compare.recorded(proj.ledger(), plan)  # what the run recorded as it ended
    assert recorded is not None and recorded.to_json() == found


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_pull_requests_steps_read_each_steps_state_and_events_not_the_log(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = built(proj, run_cli)
    new = forked(proj, run_cli, f"{old}/main@step_002")  # inherits step_001 and step_002
    steps = both(monkeypatch, lambda: prsteps.on_branch(proj.ledger(), new, "main"))
    assert [(s.id, s.inherited_from) for s in steps] == [
        ("step_001", f"{old}/main"),
        ("step_002", f"{old}/main"),
        ("step_003", None),
    ]
    assert all(s.state == "completed" and s.commit and s.provenance for s in steps)
    assert all(s.explanation is not None and s.confidence is not None for s in steps)


def test_the_approval_lookup_reads_the_open_steps_not_the_log(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = [{"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]}]
    agent = proj.agent({"*": [{"write": {"a.txt": "a\n"}}]})
    halted = run_cli("build", "--plan", proj.plan(step), "--exec", agent)  # without --yes
    assert halted.code == 1 and "needs approval" in halted.err  # MEDIUM without verify commands
    ledger = proj.ledger()
    waiting = both(monkeypatch, lambda: approval.find_waiting(ledger, "step_001", plan=None, fork=None))
    assert (waiting.plan, waiting.fork, waiting.step) == (proj.only_plan(), "main", "step_001")
    with reading(monkeypatch, kept=True):
        decided = run_cli("approve", "step_001", "--no-resume")
    assert decided.code == 0, decided.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_points_of_a_fork_read_its_state_and_the_steps_events_not_the_log(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [
        {"title": f"Write {name}", "instruction": f"Write {name}", "allowed_files": [name]}
        for name in ("a.txt", "b.txt", "c.txt")
    ]
    assert build(run_cli, proj, proj.plan(steps), proj.agent(REPAIRED)).code == 0
    plan, ledger = proj.only_plan(), proj.ledger()
    completed = {  # what the log says: each step's commit and the fork-log commit accepting it
        e.step: (str(e.data["commit"]), e.commit)
        for e in ledger.log(refs.fork_log(plan, "main"), newest_first=False)
        if e.type is EventType.TASK_COMPLETED
    }
    assert list(completed) == ["step_001", "step_002", "step_003"]

    def points() -> list[Any]:
        found: list[Any] = [point.resolve(ledger, f"{plan}/main@{step}") for step in completed]
        tip = point.resolve(ledger, f"{plan}/main")
        found += [tip, point.origin_of(ledger, tip)]
        with pytest.raises(NotFoundError) as missing:
            point.resolve(ledger, f"{plan}/main@step_009")
        return [*found, missing.value.message, missing.value.hint]

    *accepted, tip, origin, message, hint = both(monkeypatch, points)
    assert [(p.step, p.commit, p.record) for p in accepted] == [(s, *c) for s, c in completed.items()]
    assert origin.step == "step_003" and origin.commit == tip.commit == completed["step_003"][0]
    assert message == f"step_009 of {plan}/main was not accepted"
    assert hint == "accepted steps: step_001, step_002, step_003; or @base"
    shown = both(monkeypatch, lambda: run_cli("diff", f"{plan}/main@step_001", f"{plan}/main@step_003").out)
    assert "b.txt" in shown and "c.txt" in shown


def test_a_failed_plans_message_reads_each_forks_tip_and_state_not_the_log(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [
        {"title": f"Write {name}", "instruction": f"Write {name}", "allowed_files": [name]}
        for name in ("a.txt", "b.txt")
    ]
    plan_file = proj.plan(steps, policy={"behavior": {"max_attempts": 1}})
    failing = proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}], "step_002": [{"exit": 3}]})
    assert run_cli("build", "--plan", plan_file, "--exec", failing, "--yes").code == 1
    plan = proj.only_plan()
    said = both(monkeypatch, lambda: run_cli("resume", plan).err)
    assert f"plan {plan} failed; nothing to resume (fork main: step_002 failed" in said
    assert f"`conductor explain step_002 --plan {plan}`" in said
    assert f"`conductor fork --from {plan}/main@step_001 --exec CMD`" in said


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_changing_the_executor_looks_for_waiting_results_in_the_open_steps_not_the_log(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = [{"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]}]
    started = subprocess.Popen(
        [conductor_bin(), "build", "--plan", proj.plan(step), "--executor", "handoff", "--yes"],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    handoff = proj.root / ".conductor" / "handoff"
    wait_until(lambda: any(handoff.glob("plan_*/fork_main/pending/step_001.task.json")), what="the task")
    started.send_signal(signal.SIGINT)
    assert started.wait(timeout=60) == 130
    (waiting,) = handoff.glob("plan_*/fork_main")
    (waiting / "completed").mkdir(exist_ok=True)
    (waiting / "completed" / "step_001.result.json").write_text("{}")  # the old executor's answer
    command = proj.agent({"*": [{"write": {"a.txt": "a\n"}}]})
    refused = both(monkeypatch, lambda: run_cli("resume", "--exec", command, "--yes").err)
    assert "step_001 of fork main has a result from the handoff executor waiting in" in refused
    assert "changing the executor now would throw it away" in refused
