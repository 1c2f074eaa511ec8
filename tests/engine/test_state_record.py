"""The folded state kept in the fork log's tree (engine/state.py): what is written is what is
read back, and anything not written with the tip's own event is refused (the log is folded)."""

from __future__ import annotations

import json
from dataclasses import replace

from conductor.engine.state import (
    STATE_FORMAT,
    ForkState,
    ForkStatus,
    Phase,
    fork_record,
    restore,
    step_record,
)
from conductor.models.event import Event, EventType
from tests.conftest import event


def numbered(*events: Event) -> list[Event]:
    return [replace(e, seq=i, time=f"2026-12-01T10:00:{i:02d}.000000Z") for i, e in enumerate(events, 1)]


EVENTS = numbered(
    event(EventType.FORK_CREATED, plan="p", fork="f"),
    event(
        EventType.TASK_CREATED,
        "step_001",
        1,
        plan="p",
        fork="f",
        confidence={"score": 0.7, "level": "medium"},
        tripwire="t1",
    ),
    event(
        EventType.TASK_CLAIMED, "step_001", 1, plan="p", fork="f", worker={"executor": "command", "pid": 7}
    ),
    event(
        EventType.LLM_EXCHANGE, "step_001", 1, plan="p", fork="f", model="m", tokens={"input": 5, "output": 2}
    ),
    event(EventType.RESULT_RECEIVED, "step_001", 1, plan="p", fork="f"),
    event(EventType.TASK_REJECTED, "step_001", 1, plan="p", fork="f", kind="protected_file", summary="no"),
    event(EventType.REPAIR_SCHEDULED, "step_001", 2, plan="p", fork="f"),
    event(EventType.TASK_CREATED, "step_001", 2, plan="p", fork="f"),
    event(EventType.RESULT_RECEIVED, "step_001", 2, plan="p", fork="f"),
    event(EventType.TASK_COMPLETED, "step_001", 2, plan="p", fork="f", commit="abc"),
    event(EventType.APPROVAL_REQUESTED, "step_002", 1, plan="p", fork="f", confidence={"score": 0.3}),
    event(EventType.FORK_HALTED, plan="p", fork="f", summary="step_002 needs approval"),
)


def written(state: ForkState) -> tuple[dict[str, object], dict[str, dict[str, object]]]:
    """The files as the ledger keeps them, read back: `state.json` with the open steps, and a
    file for each completed step."""
    record = json.loads(json.dumps(fork_record(state)))
    finished = {
        step: json.loads(json.dumps(step_record(st)))
        for step, st in state.steps.items()
        if st.phase is Phase.COMPLETED
    }
    return record, finished


def test_the_state_written_is_the_state_read_back() -> None:
    folded = ForkState.replay("p", "f", EVENTS)
    record, steps = written(folded)
    assert record["format"] == STATE_FORMAT and record["seq"] == len(EVENTS)
    assert list(steps) == ["step_001"] and list(record["steps"]) == ["step_002"]
    restored = restore("p", "f", record, steps, seq=len(EVENTS))
    assert restored == folded
    assert restored is not None and restored.status is ForkStatus.HALTED
    first = restored.steps["step_001"]
    assert (first.phase, first.attempt, first.commit) == (Phase.COMPLETED, 2, "abc")
    assert [f.kind.value for f in first.failures] == ["protected_file"]
    assert (first.confidence, first.level) == (0.7, "medium")
    second = restored.steps["step_002"]
    assert (second.phase, second.confidence, second.level) == (Phase.AWAITING_APPROVAL, 0.3, None)


def test_state_not_written_with_the_tips_event_is_refused() -> None:
    folded = ForkState.replay("p", "f", EVENTS)
    record, steps = written(folded)
    assert restore("p", "f", record, steps, seq=len(EVENTS) + 1) is None  # a writer that kept no state
    assert restore("p", "f", {**record, "format": STATE_FORMAT + 1}, steps, seq=len(EVENTS)) is None
    assert restore("p", "other", record, steps, seq=len(EVENTS)) is None
    assert restore("p", "f", {**record, "status": "sleeping"}, steps, seq=len(EVENTS)) is None
    mislaid = {"step_009": steps["step_001"]}
    assert restore("p", "f", record, mislaid, seq=len(EVENTS)) is None
    assert restore("p", "f", record, {"step_001": {"id": "step_001"}}, seq=len(EVENTS)) is None


def test_after_folds_one_event_into_a_copy() -> None:
    before = ForkState.replay("p", "f", EVENTS[:5])
    failures = list(before.steps["step_001"].failures)
    after = before.after(EVENTS[5])
    assert after.steps["step_001"].phase is Phase.FAILED and after.last_seq == 6
    assert before.steps["step_001"].phase is Phase.RECEIVED and before.last_seq == 5
    assert before.steps["step_001"].failures == failures
    assert after == ForkState.replay("p", "f", EVENTS[:6])


def test_the_kept_state_lists_each_steps_events_and_the_forks_totals() -> None:
    """What explain, compare and the pull request's description read instead of the log: each
    step's events (the files of a commit list those before it; `restore` adds the tip's own) and
    what the fork spent."""
    logged = [replace(e, commit=f"{i:040x}") for i, e in enumerate(EVENTS, 1)]
    folded = ForkState.replay("p", "f", logged)
    first, second = folded.steps["step_001"], folded.steps["step_002"]
    assert first.events == [f"{i:040x}" for i in range(2, 11)] and first.accepted_seq == 10
    assert second.events == [f"{11:040x}"] and second.accepted_seq == 0
    assert (folded.totals.repairs, folded.totals.scores, folded.totals.confidence) == (1, 1, 0.7)
    assert folded.totals.began == EVENTS[0].time and folded.totals.ended is None
    # the files a commit keeps are written before its own id is known: restore adds it
    kept = ForkState.replay("p", "f", logged[:-1]).after(EVENTS[-1])  # fork.halted: of no step
    record, steps = written(kept)
    assert restore("p", "f", record, steps, seq=len(EVENTS), step=None, commit=logged[-1].commit) == folded
    last = replace(EVENTS[-1], step="step_002")  # an event of a step: the step gains its commit
    kept = ForkState.replay("p", "f", logged[:-1]).after(last)
    record, steps = written(kept)
    assert restore("p", "f", record, steps, seq=len(EVENTS)).steps["step_002"].events == [f"{11:040x}"]
    restored = restore("p", "f", record, steps, seq=len(EVENTS), step="step_002", commit="c" * 40)
    assert restored is not None and restored.steps["step_002"].events == [f"{11:040x}", "c" * 40]
