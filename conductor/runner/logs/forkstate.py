"""A fork's state as a reader gets it: from its log's tip when the tip keeps it (records.read_state,
docs/storage.md "The folded state"), else — a log written before the state was kept, or by a
writer that keeps none — folded from its events. Readers (explain, compare, the pull request's
description, the approval lookup, points `PLAN/FORK@STEP`, a change of executor, a failed plan's
message) go through here, so none of them reads a whole log when the tip can say.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conductor.engine.state import ForkState
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.event import Event
from conductor.runner.logs import records


@dataclass(frozen=True)
class Read:
    tip: Snapshot
    state: ForkState
    kept: bool  # read from the tip (False: folded from the log)


def read(ledger: Ledger, plan: str, fork: str, *, only: Iterable[str] | None = None) -> Read | None:
    """The fork log's tip and the fork's state; None when the fork has no log. With `only`, the
    kept state holds of the completed steps only those (records.read_state); the state folded
    from the log holds every step."""
    ref = refs.fork_log(plan, fork)
    tip = ledger.tip(ref)
    if tip is None:
        return None
    kept = records.read_state(tip, plan, fork, only=only)
    if kept is not None:
        return Read(tip, kept, True)
    return Read(tip, ForkState.replay(plan, fork, list(ledger.log(ref, newest_first=False))), False)


def step_events(ledger: Ledger, plan: str, fork: str, state: ForkState, step: str) -> list[Event]:
    """The events of one step, oldest first, read by the commits its state lists (not the log)."""
    ref = refs.fork_log(plan, fork)
    found = state.steps.get(step)
    return [ledger.at(commit, ref=ref).event for commit in found.events] if found is not None else []
