"""A fork's state, rebuilt from its events (event sourcing).

`ForkState.replay(events)` folds the fork log oldest-first; a running fork applies each event
as it records it, with the same reducer, so a resumed fork and an uninterrupted one are in
the same state after the same events.

The fold is also kept in the fork log's tree, written by the same commit as each event
(docs/storage.md: `state.json` for the fork and its steps still open, `state/<step>.json` for
each completed step, written as it completes and by the event after its last), so a reader
gets the state from the tip without reading the events. `fork_record`/`step_record` shape
those files and `restore` reads them back — or refuses them (None: fold the log instead) when
they are of another format or were not written with the tip's own event.

Besides what decides the next action, the fold keeps what readers would otherwise read the whole
log for: each step's events (`StepState.events`, the ids of their commits, so `explain` and the
pull request's description read a step's events and no other) and when it was first accepted,
and what the fork spent (`ForkState.totals`, engine/totals.py, for `compare`). A commit cannot
name itself: the files a commit keeps list the events before its own, and `restore` adds the
tip's own event.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conductor.engine.failures import FailureKind
from conductor.engine.totals import ForkTotals
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
ABANDONED_STEP = "abandoned"  # how a step is shown that its fork left open when it was abandoned


def left_open(status: ForkStatus, phase: Phase) -> bool:
    """A step its fork was abandoned with, still open (planned, pending, claimed, verifying,
    awaiting approval): nobody will finish it, so readers show it as abandoned (ABANDONED_STEP),
    not as the phase it was in. The fold keeps the phase: it is what the log says happened."""
    return status is ForkStatus.ABANDONED and phase not in (Phase.COMPLETED, Phase.FAILED)


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
    halted_attempt: int = 0  # the attempt the fork last halted on (its executor could not start)
    review: bool = False  # the open approval request is a review of a received change
    review_approved: int = 0  # the attempt whose change a person approved in review
    failures: list[Failure] = field(default_factory=list)
    commit: str | None = None
    confidence: float | None = None
    level: str | None = None  # the confidence level the current attempt's gate saw (high, medium, low)
    created_at: str | None = None  # when the current attempt's task was handed out
    created_seq: int = 0  # the seq of that task.created event
    worker: dict[str, object] = field(default_factory=dict)
    tripwire: str = ""  # digest of what the attempt must not change outside its worktree
    model: str | None = None  # the model the current attempt last called, if any
    tokens: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0})
    events: list[str] = field(default_factory=list)  # the commits of the step's events, oldest first
    accepted_seq: int = 0  # the seq of its first task.completed (0: never accepted)

    @property
    def counted_failures(self) -> int:
        """Failed attempts that count against max_attempts (an interruption does not, nor an
        executor that could not start: the step was never tried)."""
        return sum(1 for f in self.failures if f.kind not in UNCOUNTED)

    @property
    def last_failure(self) -> Failure | None:
        return self.failures[-1] if self.failures else None


FAILURE_EVENTS = {EventType.TASK_REJECTED, EventType.TASK_FAILED, EventType.TASK_TIMED_OUT}
UNCOUNTED = (FailureKind.INTERRUPTED, FailureKind.NOT_STARTED)


@dataclass
class ForkState:
    plan: str
    fork: str
    status: ForkStatus = ForkStatus.CREATED
    steps: dict[str, StepState] = field(default_factory=dict)
    halt_reason: str = ""
    last_seq: int = 0
    totals: ForkTotals = field(default_factory=ForkTotals)

    @classmethod
    def replay(cls, plan: str, fork: str, events: list[Event]) -> ForkState:
        state = cls(plan, fork)
        for event in events:
            state.apply(event)
        return state

    def after(self, event: Event) -> ForkState:
        """The state with `event` applied, this one unchanged (only the event's step is copied)."""
        steps = dict(self.steps)
        if event.step is not None and event.step in steps:
            steps[event.step] = copy.deepcopy(steps[event.step])
        folded = ForkState(
            self.plan, self.fork, self.status, steps, self.halt_reason, self.last_seq, copy.copy(self.totals)
        )
        folded.apply(event)
        return folded

    def step(self, step_id: str) -> StepState:
        found = self.steps.get(step_id)
        if found is None:
            found = self.steps[step_id] = StepState(step_id)
        return found

    def apply(self, event: Event) -> None:
        """Fold one event into the state (the only place state changes)."""
        self.last_seq = max(self.last_seq, event.seq)
        self.totals.apply(event)
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
        if event.commit is not None:  # read back from the log, or just recorded
            step.events.append(event.commit)
        if kind is EventType.TASK_CREATED:
            step.attempt = event.attempt or step.attempt + 1
            step.phase = Phase.PENDING
            step.created_at = event.time
            step.created_seq = event.seq
            step.worker = {}
            step.tripwire = str(event.data.get("tripwire", ""))
            step.model = None
            step.tokens = {"input": 0, "output": 0}
            self._confidence(step, event)
        elif kind is EventType.APPROVAL_REQUESTED:
            step.phase = Phase.AWAITING_APPROVAL
            step.review = bool(event.data.get("review"))  # a received change, kept for a person
            step.awaiting_attempt = event.attempt or (step.attempt if step.review else step.attempt + 1)
            self._confidence(step, event)
        elif kind is EventType.APPROVAL_GRANTED and step.review:
            step.review, step.review_approved = False, event.attempt or step.awaiting_attempt
            if step.phase is Phase.AWAITING_APPROVAL:
                step.phase = Phase.RECEIVED  # judged again, and accepted
        elif kind is EventType.APPROVAL_GRANTED:
            step.approved = True
            step.approved_attempt = event.attempt or step.awaiting_attempt
            if step.phase is Phase.AWAITING_APPROVAL:
                step.phase = Phase.NEW
        elif kind is EventType.APPROVAL_DENIED:
            step.review = False
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
            step.accepted_seq = step.accepted_seq or event.seq
        elif kind in FAILURE_EVENTS:
            step.phase = Phase.FAILED
            failure = FailureKind(event.data.get("kind", FailureKind.EXECUTOR_FAILED.value))
            step.failures.append(Failure(event.attempt or step.attempt, failure, event.summary))
        elif kind is EventType.REPAIR_SCHEDULED:
            step.phase = Phase.NEW
        elif kind is EventType.FORK_HALTED:
            step.halted_attempt = event.attempt or step.attempt

    @staticmethod
    def _confidence(step: StepState, event: Event) -> None:
        """The score and level a task.created or approval.requested recorded, when it did."""
        found = event.data.get("confidence") if isinstance(event.data, dict) else None
        if not isinstance(found, dict):
            return
        score, level = found.get("score"), found.get("level")
        step.confidence = float(score) if isinstance(score, int | float) else step.confidence
        step.level = level if isinstance(level, str) else step.level


STATE_FORMAT = 2
"""The format of the folded state files; a reader that finds another folds the log instead
(2: each step's events and first acceptance, and the fork's totals)."""


def fork_record(state: ForkState) -> dict[str, Any]:
    """`state.json`: the fork's own state after the event of the commit that holds it (`seq`),
    with the steps not completed yet; a completed step's state is a file of its own (and each
    event rewrites only what is small)."""
    return {
        "format": STATE_FORMAT,
        "plan": state.plan,
        "fork": state.fork,
        "seq": state.last_seq,
        "status": state.status.value,
        "halt_reason": state.halt_reason,
        "totals": state.totals.record(),
        "steps": {
            step_id: step_record(st) for step_id, st in state.steps.items() if st.phase is not Phase.COMPLETED
        },
    }


def step_record(step: StepState) -> dict[str, Any]:
    """One step's state: in `state.json` while it is open, then `state/<step>.json`."""
    return {
        "id": step.id,
        "attempt": step.attempt,
        "phase": step.phase.value,
        "approved": step.approved,
        "approved_attempt": step.approved_attempt,
        "awaiting_attempt": step.awaiting_attempt,
        "halted_attempt": step.halted_attempt,
        "review": step.review,
        "review_approved": step.review_approved,
        "failures": [{"attempt": f.attempt, "kind": f.kind.value, "reason": f.reason} for f in step.failures],
        "commit": step.commit,
        "confidence": step.confidence,
        "level": step.level,
        "created_at": step.created_at,
        "created_seq": step.created_seq,
        "worker": step.worker,
        "tripwire": step.tripwire,
        "model": step.model,
        "tokens": step.tokens,
        "events": step.events,
        "accepted_seq": step.accepted_seq,
    }


def restore(
    plan: str,
    fork: str,
    record: Mapping[str, Any],
    finished: Mapping[str, Mapping[str, Any]],
    *,
    seq: int,
    step: str | None = None,
    commit: str | None = None,
) -> ForkState | None:
    """The state from `state.json` (`record`) and the completed steps' files (`finished`), or
    None when they cannot be trusted: another format, another fork, or not written with event
    `seq` (the tip's: a writer that does not keep the files left them behind) — or anything
    malformed. `step` and `commit` are the tip's own event's, which its files cannot list: the
    step's events gain it, as they would folding the log."""
    if record.get("format") != STATE_FORMAT or record.get("seq") != seq:
        return None
    if record.get("plan") != plan or record.get("fork") != fork:
        return None
    try:
        state = ForkState(
            plan,
            fork,
            ForkStatus(record["status"]),
            halt_reason=str(record.get("halt_reason", "")),
            last_seq=seq,
            totals=ForkTotals.restore(record["totals"]),
        )
        for step_id, data in {**finished, **dict(record.get("steps") or {})}.items():
            state.steps[step_id] = _step(step_id, data)
    except (KeyError, TypeError, ValueError):
        return None
    own = state.steps.get(step) if step is not None else None
    if own is not None and commit is not None and own.events[-1:] != [commit]:
        own.events.append(commit)
    return state


def _step(step_id: str, data: Mapping[str, Any]) -> StepState:
    if data["id"] != step_id:
        raise ValueError(f"state of {data['id']} filed as {step_id}")
    confidence = data.get("confidence")
    return StepState(
        step_id,
        attempt=int(data["attempt"]),
        phase=Phase(data["phase"]),
        approved=data.get("approved"),
        approved_attempt=int(data.get("approved_attempt", 0)),
        awaiting_attempt=int(data.get("awaiting_attempt", 0)),
        halted_attempt=int(data.get("halted_attempt", 0)),
        review=bool(data.get("review", False)),
        review_approved=int(data.get("review_approved", 0)),
        failures=[
            Failure(int(f["attempt"]), FailureKind(f["kind"]), str(f["reason"]))
            for f in data.get("failures", [])
        ],
        commit=data.get("commit"),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        level=data.get("level"),
        created_at=data.get("created_at"),
        created_seq=int(data.get("created_seq", 0)),
        worker=dict(data.get("worker", {})),
        tripwire=str(data.get("tripwire", "")),
        model=data.get("model"),
        tokens={str(k): int(v) for k, v in dict(data.get("tokens", {})).items()},
        events=[str(commit) for commit in data["events"]],
        accepted_seq=int(data["accepted_seq"]),
    )
