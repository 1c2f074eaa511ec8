"""Handoff metrics: what the executors did, folded from the events of every plan
(engine/tally.py), as the ledger keeps them (runner/logs/tally.py).

Shown by `conductor handoff-metrics` and kept in `.conductor/handoff/metrics.json`.
"""

from __future__ import annotations

from typing import Any

from conductor.ledger.store import Ledger
from conductor.runner.logs import tally


def compute(ledger: Ledger, *, plan: str | None = None) -> dict[str, Any]:
    """The metrics of every plan as the ledger keeps them folded (runner/logs/tally.py; folded
    now from the logs when it keeps none), or of one plan, folded from its logs."""
    if plan is not None:
        return tally.fold_logs(ledger, plan=plan).metrics()
    return tally.current(ledger).metrics()


def refresh(ledger: Ledger, plan: str) -> dict[str, Any]:
    """Fold the new events of `plan` onto the metrics the ledger keeps; the metrics after."""
    tally.update(ledger, plan)
    return tally.current(ledger).metrics()


def recompute(ledger: Ledger) -> dict[str, Any]:
    """Fold every plan's events again, and keep that in place of what the ledger kept."""
    return tally.recompute(ledger).metrics()
