"""What a fork does next, decided from its state alone (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conductor.engine.failures import FailureKind
from conductor.engine.state import FINAL, Failure, ForkState, ForkStatus, Phase


@dataclass(frozen=True)
class StepPlan:
    """What the engine needs to know of a planned step."""

    id: str
    max_attempts: int


@dataclass(frozen=True)
class CreateTask:
    step: str
    attempt: int


@dataclass(frozen=True)
class AwaitApproval:
    step: str


@dataclass(frozen=True)
class Dispatch:
    """Hand the pending task to the executor, or keep waiting for the one that claimed it."""

    step: str


@dataclass(frozen=True)
class Verify:
    step: str


@dataclass(frozen=True)
class Repair:
    step: str
    attempt: int  # the new attempt
    failure: Failure


@dataclass(frozen=True)
class HaltFork:
    """Stop until a person acts (the executor could not start: retrying it as it is would
    fail the same way); `conductor resume` tries again."""

    step: str
    attempt: int
    reason: str


@dataclass(frozen=True)
class FailFork:
    step: str
    reason: str


@dataclass(frozen=True)
class CompleteFork:
    pass


@dataclass(frozen=True)
class Finished:
    """The fork already completed or failed: nothing to do."""

    status: ForkStatus


Action = (
    CreateTask | AwaitApproval | Dispatch | Verify | Repair | HaltFork | FailFork | CompleteFork | Finished
)


def decide(state: ForkState, steps: Sequence[StepPlan]) -> Action:
    if state.status in FINAL:
        return Finished(state.status)
    for planned in steps:
        step = state.steps.get(planned.id)
        if step is None:
            return CreateTask(planned.id, 1)
        if step.phase is Phase.COMPLETED:
            continue
        if step.phase is Phase.NEW:
            return CreateTask(planned.id, step.attempt + 1)
        if step.phase is Phase.AWAITING_APPROVAL:
            return AwaitApproval(planned.id)
        if step.phase in (Phase.PENDING, Phase.CLAIMED):
            return Dispatch(planned.id)
        if step.phase is Phase.RECEIVED:
            return Verify(planned.id)
        # Phase.FAILED
        failure = step.last_failure
        assert failure is not None, f"{planned.id} failed without a recorded failure"
        if step.approved is False:
            return FailFork(planned.id, f"{planned.id} was rejected by a reviewer")
        if failure.kind is FailureKind.NOT_STARTED and step.halted_attempt != failure.attempt:
            return HaltFork(planned.id, failure.attempt, failure.reason)
        if step.counted_failures >= planned.max_attempts:
            return FailFork(
                planned.id,
                f"{planned.id} failed {step.counted_failures} of {planned.max_attempts} allowed attempts;"
                f" last: {failure.reason}",
            )
        return Repair(planned.id, step.attempt + 1, failure)
    return CompleteFork()
