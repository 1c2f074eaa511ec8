"""`conductor handoff-metrics`: what the executors did — outcomes, durations, violations, usage."""

from __future__ import annotations

from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.runner.views.metrics import MetricsReport, compute


def run(*, plan: str | None) -> MetricsReport:
    return MetricsReport(compute(Ledger(find_root()), plan=plan))
