"""An append that holds only where its writer last saw the log end.

A log's writer (planlog.PlanLog, forklog.ForkLog) derives what an event carries — the plan's
or the fork's state after it — from the log as it read it. `append_at` records the event only
if the log still ends there (the ledger's compare-and-swap keeps that true up to the commit);
when another writer got there first it raises `Moved`, and the writer reads the log again and
derives the event anew (`ATTEMPTS` times at most).
"""

from __future__ import annotations

from conductor.errors import LedgerConflictError
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import FoldFn, Ledger
from conductor.models.event import Event
from conductor.runner.logs.records import Changes, Move

ATTEMPTS = 20


class Moved(Exception):
    """The log does not end where its writer read it: read it again."""


def append_at(
    ledger: Ledger,
    ref: str,
    seq: int,
    event: Event,
    changes: Changes | Move | None = None,
    *,
    fold: FoldFn | None = None,
) -> Event:
    """Append `event` (with `changes`, and `fold`'s) to `ref` if its last event is still `seq`
    (0: the log is new); raise Moved if it is not."""

    def guarded(previous: Snapshot | None) -> Changes:
        if (previous.event.seq if previous is not None else 0) != seq:
            raise Moved(ref)
        return changes(previous) if callable(changes) else dict(changes or {})

    return ledger.append(ref, event, guarded, fold=fold)


def lost(ref: str) -> LedgerConflictError:
    """The error of a writer that read the log ATTEMPTS times and lost the race each time."""
    return LedgerConflictError(
        f"could not append to {ref}: other writers moved it {ATTEMPTS} times in a row",
        hint="another Conductor process is writing the same log; retry when it is done",
    )
