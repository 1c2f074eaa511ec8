"""A plan log's one writer: every event of `refs/conductor/plans/<plan>` is appended by a
PlanLog, which keeps one invariant — a plan log's tip holds the plan's state (`state`).

The state an event leaves is derived here and nowhere else: the events that change it set it
(`SETS`), every other one (a comparison, an adoption, a note, a model call) carries it on as
the log had it, read where the event is appended (tipguard.py). So readers take the state
from the tip (`state_of`) and never fold the log for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.runner.logs.records import Changes, Move
from conductor.runner.logs.tipguard import ATTEMPTS, Moved, append_at, lost

RUNNING = "running"
HALTED = "halted"
COMPLETED = "completed"
FAILED = "failed"
ABANDONED = "abandoned"

SETS: dict[EventType, str] = {
    EventType.PLAN_CREATED: RUNNING,
    EventType.PLAN_RESUMED: RUNNING,
    EventType.PLAN_REVISED: RUNNING,  # a completed plan with a new step to run
    EventType.FORK_SPAWNED: RUNNING,
    EventType.PLAN_HALTED: HALTED,
    EventType.PLAN_COMPLETED: COMPLETED,
    EventType.PLAN_FAILED: FAILED,
    EventType.PLAN_ABANDONED: ABANDONED,
}
"""The plan's state after each event that changes it."""


def state_of(tip: Snapshot | None) -> str:
    """The plan's state, as its log's tip holds it. A log an older Conductor wrote may end
    with an event that carries none (a planner's model call, recorded as the plan started):
    the plan was running then."""
    return (tip.event.state if tip is not None else None) or RUNNING


class PlanLog:
    """One plan's log: `create` starts it, `record` appends every later event."""

    def __init__(self, ledger: Ledger, plan: str) -> None:
        self.ledger = ledger
        self.plan = plan
        self.ref = refs.plan_log(plan)

    def tip(self) -> Snapshot | None:
        return self.ledger.tip(self.ref)

    @property
    def state(self) -> str:
        return state_of(self.tip())

    def create(self, summary: str, *, data: dict[str, Any], files: Mapping[str, str]) -> Event | None:
        """`plan.created` with the plan's first records (`files`), only on a log that does not
        exist: None when it does (a plan's id is never joined)."""
        event = Event(
            EventType.PLAN_CREATED,
            plan=self.plan,
            summary=summary,
            state=SETS[EventType.PLAN_CREATED],
            data=data,
        )
        return self.ledger.append_once(
            self.ref, event, lambda previous: dict(files) if previous is None else None
        )

    def record(
        self,
        kind: EventType,
        summary: str,
        *,
        fork: str | None = None,
        step: str | None = None,
        data: dict[str, Any] | None = None,
        changes: Changes | Move | None = None,
    ) -> Event:
        """Append one event, carrying the plan's state after it (SETS, or the tip's)."""
        for _ in range(ATTEMPTS):
            tip = self.tip()
            state = SETS.get(kind) or state_of(tip)
            event = Event(
                kind, plan=self.plan, summary=summary, fork=fork, step=step, state=state, data=data or {}
            )
            try:
                return append_at(
                    self.ledger, self.ref, tip.event.seq if tip is not None else 0, event, changes
                )
            except Moved:
                continue
        raise lost(self.ref)
