"""`conductor handoff-metrics`: what the executors did — outcomes, durations, violations, usage.
With --recompute, every plan's events are folded again first (runner/logs/tally.py)."""

from __future__ import annotations

from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.runner.views.metrics import MetricsReport, compute, recompute


def run(*, plan: str | None, again: bool = False) -> MetricsReport:
    root = find_root()
    ledger = Ledger(root)
    if again:
        from conductor.runner.plan.scheduler import project_metrics  # the runner: only to write

        project_metrics(root, recompute(ledger))
    return MetricsReport(compute(ledger, plan=plan))
