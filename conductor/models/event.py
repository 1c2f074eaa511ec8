"""Events: the transitions Conductor records, one ledger commit each.

Deliberately free of pydantic so `conductor status` and `conductor events` start fast; the
ledger's message codec validates events on the way in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Every kind of event, named `<subject>.<what happened>` (see docs/lifecycle.md)."""

    PLAN_CREATED = "plan.created"
    PLAN_COMPLETED = "plan.completed"
    PLAN_FAILED = "plan.failed"
    PLAN_ABANDONED = "plan.abandoned"
    PLAN_HALTED = "plan.halted"
    PLAN_RESUMED = "plan.resumed"
    PLAN_COMPARED = "plan.compared"
    PLAN_REVISED = "plan.revised"
    PLAN_ADOPTED = "plan.adopted"
    FORK_CREATED = "fork.created"
    FORK_SPAWNED = "fork.spawned"
    FORK_COMPLETED = "fork.completed"
    FORK_FAILED = "fork.failed"
    FORK_ABANDONED = "fork.abandoned"
    FORK_HALTED = "fork.halted"
    FORK_RESUMED = "fork.resumed"
    FORK_PRUNED = "fork.pruned"
    WORKSPACE_PREPARED = "workspace.prepared"
    TASK_CREATED = "task.created"
    TASK_CLAIMED = "task.claimed"
    RESULT_RECEIVED = "result.received"
    RESULT_REFUSED = "result.refused"
    TASK_COMPLETED = "task.completed"
    TASK_REJECTED = "task.rejected"
    TASK_FAILED = "task.failed"
    TASK_TIMED_OUT = "task.timed_out"
    REPAIR_SCHEDULED = "repair.scheduled"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_GRANTED = "approval.granted"
    APPROVAL_DENIED = "approval.denied"
    LLM_EXCHANGE = "llm.exchange"
    LESSON_RECORDED = "lesson.recorded"
    METRICS_FOLDED = "metrics.folded"
    NOTE = "note"

    @classmethod
    def parse(cls, value: str) -> EventType:
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(sorted(e.value for e in cls))
            raise ValueError(f"unknown event type '{value}' (known: {known})") from None


@dataclass(slots=True)
class Event:
    """One recorded transition. Treat it as immutable (use dataclasses.replace); it is not
    frozen only because frozen dataclasses are three times slower to build, which shows
    when `conductor events` reads 100k of them.

    `seq` numbers events within one log (ref) from 1; `time` is the UTC timestamp as text,
    `2026-11-24T03:20:43.123456Z` (it sorts correctly as a string; `moment` parses it);
    `state` is the state of the plan or fork after the event, when the event changes it.
    `commit` and `ref` are filled in when the event is read back from the ledger.
    """

    type: EventType
    plan: str
    summary: str
    fork: str | None = None
    step: str | None = None
    attempt: int | None = None
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    time: str | None = None
    commit: str | None = None
    ref: str | None = None

    @property
    def moment(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.time) if self.time else None

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (one line of `conductor events --json`)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "time": self.time,
            "type": self.type.value,
            "plan": self.plan,
            "fork": self.fork,
            "step": self.step,
            "attempt": self.attempt,
            "state": self.state,
            "summary": self.summary,
            "data": self.data,
            "commit": self.commit,
            "ref": self.ref,
        }
        return out
