"""The engine's pure decisions: state folded from events, the next action, confidence."""

from __future__ import annotations

import pytest

from conductor.engine.confidence import (
    NO_EVIDENCE,
    Assessment,
    Gate,
    History,
    approval_gate,
    assess,
    signature,
)
from conductor.engine.decide import (
    AwaitApproval,
    CompleteFork,
    CreateTask,
    Dispatch,
    FailFork,
    Finished,
    Repair,
    StepPlan,
    Verify,
    decide,
)
from conductor.engine.failures import FAILURES, FailureKind, describe
from conductor.engine.state import ForkState, ForkStatus, Phase
from conductor.models.confidence import ConfidenceLevel
from conductor.models.event import Event, EventType
from tests.conftest import event as ev

STEPS = [StepPlan("step_001", 2), StepPlan("step_002", 2)]


def state(*events: Event) -> ForkState:
    return ForkState.replay("p", "f", list(events))


def test_a_new_fork_creates_its_first_task() -> None:
    assert decide(state(ev(EventType.FORK_CREATED)), STEPS) == CreateTask("step_001", 1)


def test_the_lifecycle_of_one_step() -> None:
    events = [ev(EventType.FORK_CREATED), ev(EventType.TASK_CREATED, "step_001", 1)]
    assert decide(state(*events), STEPS) == Dispatch("step_001")
    events.append(ev(EventType.TASK_CLAIMED, "step_001", 1, worker={"executor": "command"}))
    assert decide(state(*events), STEPS) == Dispatch("step_001")
    events.append(ev(EventType.RESULT_RECEIVED, "step_001", 1))
    assert decide(state(*events), STEPS) == Verify("step_001")
    events.append(ev(EventType.TASK_COMPLETED, "step_001", 1, commit="abc"))
    assert decide(state(*events), STEPS) == CreateTask("step_002", 1)
    folded = state(*events)
    assert folded.steps["step_001"].commit == "abc" and folded.steps["step_001"].phase is Phase.COMPLETED


def test_failures_are_repaired_until_max_attempts_then_the_fork_fails() -> None:
    events = [
        ev(EventType.FORK_CREATED),
        ev(EventType.TASK_CREATED, "step_001", 1),
        ev(EventType.TASK_REJECTED, "step_001", 1, kind="protected_file"),
    ]
    action = decide(state(*events), STEPS)
    assert isinstance(action, Repair) and action.attempt == 2
    assert action.failure.kind is FailureKind.PROTECTED
    events += [ev(EventType.REPAIR_SCHEDULED, "step_001", 2)]
    assert decide(state(*events), STEPS) == CreateTask("step_001", 2)
    events += [
        ev(EventType.TASK_CREATED, "step_001", 2),
        ev(EventType.TASK_TIMED_OUT, "step_001", 2, kind="task_timeout"),
    ]
    action = decide(state(*events), STEPS)
    assert isinstance(action, FailFork) and "2 of 2" in action.reason


def test_an_interruption_does_not_use_up_an_attempt() -> None:
    events = [
        ev(EventType.FORK_CREATED),
        ev(EventType.TASK_CREATED, "step_001", 1),
        ev(EventType.TASK_FAILED, "step_001", 1, kind="interrupted"),
        ev(EventType.REPAIR_SCHEDULED, "step_001", 2),
        ev(EventType.TASK_CREATED, "step_001", 2),
        ev(EventType.TASK_FAILED, "step_001", 2, kind="interrupted"),
    ]
    folded = state(*events)
    assert folded.steps["step_001"].counted_failures == 0
    assert isinstance(decide(folded, [StepPlan("step_001", 1)]), Repair)


def test_approval_halts_until_granted_and_a_denial_fails_the_fork() -> None:
    waiting = [
        ev(EventType.FORK_CREATED),
        ev(EventType.APPROVAL_REQUESTED, "step_001", 1, confidence={"score": 0.3}),
        ev(EventType.FORK_HALTED),
    ]
    folded = state(*waiting)
    assert decide(folded, STEPS) == AwaitApproval("step_001")
    assert folded.status is ForkStatus.HALTED and folded.steps["step_001"].confidence == 0.3
    granted = state(*waiting, ev(EventType.APPROVAL_GRANTED, "step_001"))
    assert decide(granted, STEPS) == CreateTask("step_001", 1)
    assert granted.steps["step_001"].approved is True
    denied = decide(state(*waiting, ev(EventType.APPROVAL_DENIED, "step_001")), STEPS)
    assert isinstance(denied, FailFork) and "rejected by a reviewer" in denied.reason


def test_finished_forks_stay_finished() -> None:
    done = [ev(EventType.FORK_CREATED), ev(EventType.FORK_COMPLETED)]
    assert decide(state(*done), STEPS) == Finished(ForkStatus.COMPLETED)
    all_done = [ev(EventType.FORK_CREATED)] + [
        ev(EventType.TASK_COMPLETED, s.id, 1, commit="c") for s in STEPS
    ]
    assert decide(state(*all_done), STEPS) == CompleteFork()


def test_every_failure_kind_has_a_name_cause_and_recovery() -> None:
    assert set(FAILURES) == set(FailureKind)
    assert describe(FailureKind.TIMEOUT).recovery.startswith("Increase `timeout_seconds`")
    assert describe(FailureKind.CHECKSUM).name == "Checksum mismatch"
    assert describe(FailureKind.CHECKSUM).cause == "Task tampered"
    assert describe(FailureKind.CONSTRAINT).cause == "Outside allowed_files"
    assert describe(FailureKind.LOW_CONFIDENCE).cause == "Novel task pattern"


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        (["hello.py"], "./*.py"),
        (["src/app/cli.py", "src/app/util.py"], "src/app/*.py"),
        (["**"], "**"),
        ([], "**"),
        (["docs/*.md", "Makefile"], "./Makefile,docs/*.md"),
    ],
)
def test_signature_is_the_shape_of_the_scope(allowed: list[str], expected: str) -> None:
    assert signature(allowed or ["**"]) == expected


def test_confidence_factors_and_levels() -> None:
    novel = History("./*.py")
    focused = assess(allowed_files=["hello.py"], verify=["pytest"], history=novel, max_diff_lines=500)
    assert focused.level is ConfidenceLevel.MEDIUM and focused.score == 0.78
    assert [f.name for f in focused.factors] == ["history", "scope", "evidence", "size"]
    assert "novel" in focused.factors[0].detail
    proven = History("./*.py", attempts=8, successes=8)
    assert (
        assess(allowed_files=["hello.py"], verify=["pytest"], history=proven, max_diff_lines=500).level
        is ConfidenceLevel.HIGH
    )
    broad = assess(allowed_files=["**"], verify=[], history=novel, max_diff_lines=500)
    assert broad.level is ConfidenceLevel.LOW
    assert "any file" in broad.factors[1].detail and "nothing proves it" in broad.factors[2].detail
    failing = History("./*.py", attempts=6, successes=1, failures={"protected_file": 5})
    worse = assess(allowed_files=["hello.py"], verify=["pytest"], history=failing, max_diff_lines=500)
    assert worse.score < focused.score and "5 protected_file" in worse.factors[0].detail
    planner = assess(
        allowed_files=["hello.py"], verify=["pytest"], history=novel, max_diff_lines=500, planner=0.2
    )
    assert planner.score < focused.score and planner.factors[-1].name == "planner"
    big = assess(
        allowed_files=["hello.py"], verify=["pytest"], history=novel, max_diff_lines=100, expected_lines=400
    )
    assert big.score < focused.score


def test_the_gate_by_band_low_waits_medium_needs_evidence_high_runs() -> None:
    def at(score: float) -> Assessment:
        return Assessment(score, [])

    assert approval_gate(at(0.4), threshold=0.5, verify=["pytest"]) == Gate("LOW confidence 0.40")
    medium = approval_gate(at(0.6), threshold=0.5, verify=[])
    assert medium == Gate("MEDIUM confidence 0.60 and no verify commands to prove the result", NO_EVIDENCE)
    assert approval_gate(at(0.6), threshold=0.5, verify=["pytest"]) is None
    assert approval_gate(at(0.8), threshold=0.5, verify=[]) is None
    assert approval_gate(at(0.6), threshold=0.7, verify=["pytest"]) == Gate(
        "MEDIUM confidence 0.60 (below confidence.approval_below 0.7)"
    )


def test_weights_add_up_to_one_with_or_without_the_planner() -> None:
    novel = History(signature("hello.py"))
    for planner in (None, 0.9):
        found = assess(
            allowed_files=["hello.py"], verify=[], history=novel, max_diff_lines=100, planner=planner
        )
        assert round(sum(f.weight for f in found.factors), 6) == 1.0
        assert found.score == round(sum(f.value * f.weight for f in found.factors), 2)


def test_an_approval_is_for_the_attempt_it_was_asked_for() -> None:
    first = [
        ev(EventType.FORK_CREATED),
        ev(EventType.APPROVAL_REQUESTED, "step_001", 1, confidence={"score": 0.3}),
        ev(EventType.APPROVAL_GRANTED, "step_001"),
        ev(EventType.TASK_CREATED, "step_001", 1),
        ev(EventType.TASK_REJECTED, "step_001", 1, kind="verify_failed"),
        ev(EventType.REPAIR_SCHEDULED, "step_001", 2),
    ]
    folded = state(*first)
    assert folded.steps["step_001"].approved_attempt == 1
    asked = state(*first, ev(EventType.APPROVAL_REQUESTED, "step_001", 2, confidence={"score": 0.3}))
    assert decide(asked, STEPS) == AwaitApproval("step_001")
    again = state(
        *first, ev(EventType.APPROVAL_REQUESTED, "step_001", 2), ev(EventType.APPROVAL_GRANTED, "step_001")
    )
    assert again.steps["step_001"].approved_attempt == 2


def test_an_attempt_carries_its_tripwire_digest_and_its_model_usage() -> None:
    events = [
        ev(EventType.FORK_CREATED),
        ev(EventType.TASK_CREATED, "step_001", 1, tripwire="sha256:one"),
        ev(EventType.LLM_EXCHANGE, "step_001", 1, model="m-1", tokens={"input": 10, "output": 2}),
        ev(EventType.LLM_EXCHANGE, "step_001", 1, model=None, tokens=None, error="HTTP 500"),
        ev(EventType.LLM_EXCHANGE, "step_001", 1, model="m-2", tokens={"input": 5, "output": 1}),
    ]
    st = state(*events).steps["step_001"]
    assert (st.tripwire, st.model, st.tokens) == ("sha256:one", "m-2", {"input": 15, "output": 3})
    events += [
        ev(EventType.TASK_REJECTED, "step_001", 1, kind="verify_failed"),
        ev(EventType.REPAIR_SCHEDULED, "step_001", 2),
        ev(EventType.TASK_CREATED, "step_001", 2, tripwire="sha256:two"),
        # a call of the old attempt that is recorded late does not count for the new one
        ev(EventType.LLM_EXCHANGE, "step_001", 1, model="m-1", tokens={"input": 99, "output": 99}),
    ]
    st = state(*events).steps["step_001"]
    assert (st.tripwire, st.model, st.tokens) == ("sha256:two", None, {"input": 0, "output": 0})


def test_factor_details_count_in_words() -> None:
    novel = History(signature(["a.py"]))
    one = assess(allowed_files=["a.py"], verify=["pytest"], history=novel, max_diff_lines=100)
    details = {f.name: f.detail for f in one.factors}
    assert details["scope"] == "1 file" and details["evidence"] == "1 verify command"
    two = assess(allowed_files=["a.py", "b.py"], verify=["a", "b"], history=novel, max_diff_lines=100)
    details = {f.name: f.detail for f in two.factors}
    assert details["scope"] == "2 files" and details["evidence"] == "2 verify commands"
