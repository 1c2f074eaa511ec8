"""A fork's state, rebuilt from its events (event sourcing).

`ForkState.replay(events)` folds the fork log oldest-first; a running fork applies each event
as it records it, with the same reducer, so a resumed fork and an uninterrupted one are in
the same state after the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from conductor.engine.failures import FailureKind
from conductor.models.event import Event, EventType


class Phase(StrEnum):
    NEW = "new"  # no task yet for the current attempt
    AWAITING_APPROVAL = "awaiting_approval"
    PENDING = "pending"  # task handed out
    CLAIMED = "claimed"  # an executor took it
    RECEIVED = "received"  # a result came back; verification is next
    COMPLETED = "completed"
    FAILED = "failed"  # the current attempt failed or was rejected


class ForkStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    HALTED = "halted"
    COMPLETED = "completed"
    FAILED = "failed"
    ABANDONED = "abandoned"  # ended by `conductor abandon`


FINAL = (ForkStatus.COMPLETED, ForkStatus.FAILED, ForkStatus.ABANDONED)


@dataclass(frozen=True)
class Failure:
    attempt: int
    kind: FailureKind
    reason: str


@dataclass
class StepState:
    id: str
    attempt: int = 0
    phase: Phase = Phase.NEW
    approved: bool | None = None  # the last decision on an approval request
    approved_attempt: int = 0  # the attempt a person last approved (the gate asks per attempt)
    awaiting_attempt: int = 0  # the attempt the open approval request is for
    failures: list[Failure] = field(default_factory=list)
    commit: str | None = None
    confidence: float | None = None
    created_at: str | None = None  # when the current attempt's task was handed out
    created_seq: int = 0  # the seq of that task.created event
    worker: dict[str, object] = field(default_factory=dict)
    tripwire: str = ""  # digest of what the attempt must not change outside its worktree
    model: str | None = None  # the model the current attempt last called, if any
    tokens: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0})

    @property
    def counted_failures(self) -> int:
        """Failed attempts that count against max_attempts (an interruption does not)."""
        return sum(1 for f in self.failures if f.kind is not FailureKind.INTERRUPTED)

    @property
    def last_failure(self) -> Failure | None:
        return self.failures[-1] if self.failures else None


FAILURE_EVENTS = {EventType.TASK_REJECTED, EventType.TASK_FAILED, EventType.TASK_TIMED_OUT}


@dataclass
class ForkState:
    plan: str
    fork: str
    status: ForkStatus = ForkStatus.CREATED
    steps: dict[str, StepState] = field(default_factory=dict)
    halt_reason: str = ""
    last_seq: int = 0

    @classmethod
    def replay(cls, plan: str, fork: str, events: list[Event]) -> ForkState:
        state = cls(plan, fork)
        for event in events:
            state.apply(event)
        return state

    def step(self, step_id: str) -> StepState:
        found = self.steps.get(step_id)
        if found is None:
            found = self.steps[step_id] = StepState(step_id)
        return found

    def apply(self, event: Event) -> None:
        """Fold one event into the state (the only place state changes)."""
        self.last_seq = max(self.last_seq, event.seq)
        kind = event.type
        if kind is EventType.FORK_CREATED or kind is EventType.FORK_RESUMED:
            self.status = ForkStatus.RUNNING
            self.halt_reason = ""
        elif kind is EventType.FORK_HALTED:
            self.status = ForkStatus.HALTED
            self.halt_reason = event.summary
        elif kind is EventType.FORK_COMPLETED:
            self.status = ForkStatus.COMPLETED
        elif kind is EventType.FORK_FAILED:
            self.status = ForkStatus.FAILED
            self.halt_reason = event.summary
        elif kind is EventType.FORK_ABANDONED:
            self.status = ForkStatus.ABANDONED
            self.halt_reason = event.summary
        if event.step is None:
            return
        step = self.step(event.step)
        if kind is EventType.TASK_CREATED:
            step.attempt = event.attempt or step.attempt + 1
            step.phase = Phase.PENDING
            step.created_at = event.time
            step.created_seq = event.seq
            step.worker = {}
            step.tripwire = str(event.data.get("tripwire", ""))
            step.model = None
            step.tokens = {"input": 0, "output": 0}
            score = event.data.get("confidence", {}).get("score") if isinstance(event.data, dict) else None
            step.confidence = float(score) if isinstance(score, int | float) else step.confidence
        elif kind is EventType.APPROVAL_REQUESTED:
            step.phase = Phase.AWAITING_APPROVAL
            step.awaiting_attempt = event.attempt or step.attempt + 1
            score = event.data.get("confidence", {}).get("score")
            step.confidence = float(score) if isinstance(score, int | float) else step.confidence
        elif kind is EventType.APPROVAL_GRANTED:
            step.approved = True
            step.approved_attempt = event.attempt or step.awaiting_attempt
            if step.phase is Phase.AWAITING_APPROVAL:
                step.phase = Phase.NEW
        elif kind is EventType.APPROVAL_DENIED:
            step.approved = False
            step.phase = Phase.FAILED
            step.failures.append(Failure(step.attempt, FailureKind.LOW_CONFIDENCE, event.summary))
        elif kind is EventType.TASK_CLAIMED:
            step.phase = Phase.CLAIMED
            step.worker = dict(event.data.get("worker", {}))
        elif kind is EventType.LLM_EXCHANGE:
            if event.attempt == step.attempt:
                step.model = event.data.get("model") or step.model
                usage = event.data.get("tokens") or {}
                step.tokens = {k: n + int(usage.get(k, 0)) for k, n in step.tokens.items()}
        elif kind is EventType.RESULT_RECEIVED:
            step.phase = Phase.RECEIVED
        elif kind is EventType.TASK_COMPLETED:
            step.phase = Phase.COMPLETED
            step.commit = str(event.data.get("commit") or "") or None
        elif kind in FAILURE_EVENTS:
            step.phase = Phase.FAILED
            failure = FailureKind(event.data.get("kind", FailureKind.EXECUTOR_FAILED.value))
            step.failures.append(Failure(event.attempt or step.attempt, failure, event.summary))
        elif kind is EventType.REPAIR_SCHEDULED:
            step.phase = Phase.NEW
