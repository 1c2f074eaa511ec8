"""A fork log's one writer: every event of `refs/conductor/forks/<plan>/<fork>` — a run's (the
Fork of runner/fork/context.py records through one) and those recorded outside a run (a fork's
creation with its plan, approve and reject, abandon, revise, adopt's prune) — is appended by a
ForkLog, with the fork's state folded up to it in the same commit (docs/storage.md "The folded
state"). So the state a tip keeps is always its own, and no reader, nor the next run, has to
fold the log; the event carries the fork's status after it (`state`), from the same fold.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conductor.engine.state import ForkState
from conductor.errors import LedgerFormatError
from conductor.ledger import message, refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.models.forkrecord import ForkRecord
from conductor.models.layout import FORK_FILE
from conductor.runner.logs import forkstate, records
from conductor.runner.logs.tipguard import ATTEMPTS, Moved, append_at, lost

RUNNING = "running"


def state_of(tip: Snapshot | None) -> str:
    """The fork's status as its log's tip says it (every event carries it; a log that does not
    exist yet is a fork about to run)."""
    return (tip.event.state if tip is not None else None) or RUNNING


def read_record(tip: Snapshot | None) -> ForkRecord | None:
    """The fork's `fork.json` as `tip` has it; None without a tip or a record (a log not written
    by Conductor). LedgerFormatError, naming the log, when it is not a fork record."""
    raw = tip.read(FORK_FILE) if tip is not None else None
    if tip is None or raw is None:
        return None
    try:
        return ForkRecord.loads(raw)
    except LedgerFormatError as exc:
        raise LedgerFormatError(f"{tip.event.ref or 'a fork log'}: {exc.message}", hint=exc.hint) from None


class ForkLog:
    """One fork's log and its state after the last event it holds (folded once when it is
    opened — from the tip when the tip keeps it, else from the events — then event by event)."""

    def __init__(self, ledger: Ledger, plan: str, fork: str, *, state: ForkState | None = None) -> None:
        self.ledger = ledger
        self.plan = plan
        self.fork = fork
        self.ref = refs.fork_log(plan, fork)
        self.state = state if state is not None else self._read()

    @classmethod
    def create(cls, ledger: Ledger, plan: str, record: ForkRecord, *, summary: str) -> bool:
        """Start the fork's log with `fork.created` and its `fork.json`, unless it has one
        already (then nothing is written: False)."""
        if ledger.tip(refs.fork_log(plan, record.id)) is not None:
            return False
        log = cls(ledger, plan, record.id, state=ForkState(plan, record.id))
        try:
            log._append(log._event(EventType.FORK_CREATED, summary), {FORK_FILE: record.dumps()})
        except Moved:  # another process created it meanwhile
            return False
        return True

    def tip(self) -> Snapshot | None:
        return self.ledger.tip(self.ref)

    def record(
        self,
        kind: EventType,
        summary: str,
        *,
        step: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
        changes: records.Changes | records.Move | None = None,
    ) -> Event:
        """Append one event (and its record changes) with the state after it, and fold it in.
        When another writer appended meanwhile, the log is read again first."""
        for _ in range(ATTEMPTS):
            try:
                return self._append(self._event(kind, summary, step, attempt, data), changes)
            except Moved:
                self.state = self._read()
        raise lost(self.ref)

    def _event(
        self,
        kind: EventType,
        summary: str,
        step: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        event = Event(
            kind, plan=self.plan, fork=self.fork, step=step, attempt=attempt, summary=summary, data=data or {}
        )
        return replace(event, state=self.state.after(event).status.value)

    def _append(self, event: Event, changes: records.Changes | records.Move | None) -> Event:
        known = self.state
        recorded = append_at(
            self.ledger,
            self.ref,
            known.last_seq,
            event,
            changes,
            fold=lambda previous, now: records.fold_state(previous, self._as_read(now), known),
        )
        known.apply(self._as_read(recorded))
        return recorded

    def _as_read(self, event: Event) -> Event:
        """The event as the log gives it back — its summary on one bounded line, secrets
        redacted (conductor.ledger.message) — so the state kept is the state a fold of the log
        finds, to the letter (a long halt reason included)."""
        text = self.ledger.redactor.text(message.encode(event))
        return message.decode(text, commit=event.commit, ref=event.ref)

    def _read(self) -> ForkState:
        """The state from the tip, or, when the tip keeps none that can be trusted (a log
        written before it was kept, or by an older Conductor), folded from the events."""
        found = forkstate.read(self.ledger, self.plan, self.fork)
        return found.state if found is not None else ForkState(self.plan, self.fork)
