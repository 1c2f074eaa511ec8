"""Handoff metrics: what the executors did, folded from the events of every plan
(engine/tally.py), as the ledger keeps them (runner/logs/tally.py).

Shown by `conductor handoff-metrics` and kept in `.conductor/handoff/metrics.json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conductor.engine.tally import UNFINISHED
from conductor.ledger.store import Ledger
from conductor.report import Report, plural
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


def render(metrics: dict[str, Any]) -> str:
    by = metrics["by_status"]
    rate = metrics["success_rate"]
    duration = metrics["duration_seconds"]
    judged = sum(n for k, n in by.items() if k not in UNFINISHED)
    lines = [
        f"tasks handed out:   {metrics['tasks']}",
        "by status:          " + ", ".join(f"{n} {k}" for k, n in by.items()),
        *[f"  {k}: handed out, {why}" for k, why in UNFINISHED.items() if by.get(k)],
        "success rate:       "
        + ("-" if rate is None else f"{rate:.0%} (of the {plural(judged, 'task')} with a verdict)"),
        f"duration (s):       mean {duration['mean'] if duration['mean'] is not None else '-'},"
        f" p95 {duration['p95'] if duration['p95'] is not None else '-'}",
        f"timeouts:           {metrics['timeouts']}",
        "violations:         " + (", ".join(f"{n} {k}" for k, n in metrics["violations"].items()) or "none"),
        f"repairs:            {metrics['repairs']}",
        f"late results refused: {metrics['stale_results_refused']}",
        f"malformed results refused: {metrics['malformed_results_refused']}",
        f"approvals requested: {metrics['approvals_requested']}",
    ]
    if metrics["tokens"] is not None:
        lines.append(
            f"tokens:             {metrics['tokens']['input']} in, {metrics['tokens']['output']} out;"
            f" cost ${metrics['cost_usd']:.4f}"
        )
    else:
        lines.append("tokens / cost:      not reported by the executors")
    return "\n".join(lines)


@dataclass
class MetricsReport(Report):
    metrics: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.metrics

    def render(self) -> str:
        return render(self.metrics)
