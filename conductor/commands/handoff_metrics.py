"""`conductor handoff-metrics`: what the executors did — outcomes, durations, violations, usage.
With --recompute, every plan's events are folded again first (runner/logs/tally.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conductor.engine.tally import UNFINISHED
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.report import Report, plural
from conductor.runner.views.metrics import compute, recompute

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class MetricsReport(Report):
    metrics: dict[str, Any]  # as the ledger keeps them (runner/logs/tally.py)

    def to_json(self) -> c.Metrics:
        m = self.metrics
        return {
            "tasks": m["tasks"],
            "by_state": m["by_state"],
            "success_rate": m["success_rate"],
            "duration_seconds": m["duration_seconds"],
            "timeouts": m["timeouts"],
            "violations": m["violations"],
            "repairs": m["repairs"],
            "stale_results_refused": m["stale_results_refused"],
            "malformed_results_refused": m["malformed_results_refused"],
            "approvals_requested": m["approvals_requested"],
            "tokens": m["tokens"],
            "cost_usd": m["cost_usd"],
        }

    def render(self) -> str:
        return render(self.metrics)


def run(*, plan: str | None, again: bool = False) -> MetricsReport:
    root = find_root()
    ledger = Ledger(root)
    if again:
        from conductor.runner.plan.scheduler import project_metrics  # the runner: only to write

        project_metrics(root, recompute(ledger))
    return MetricsReport(compute(ledger, plan=plan))


def render(metrics: dict[str, Any]) -> str:
    by = metrics["by_state"]
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
