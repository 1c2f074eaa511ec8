"""Handoff metrics: what the executors did, computed from the events of every plan.

Shown by `conductor handoff-metrics` and kept in `.conductor/handoff/metrics.json`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.report import Report, plural

VERDICTS = {
    EventType.TASK_COMPLETED: "completed",
    EventType.TASK_REJECTED: "rejected",
    EventType.TASK_FAILED: "failed",
    EventType.TASK_TIMED_OUT: "timed_out",
}


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


UNFINISHED = {
    # a task handed out that has no verdict: why not (each task is counted once, in by_status)
    "abandoned": "then abandoned (conductor abandon) before a verdict",
    "open": "no verdict yet (its plan is running, halted or interrupted)",
}


def compute(ledger: Ledger, *, plan: str | None = None) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    started: dict[tuple[str, str | None, str | None, int | None], str] = {}
    ended: set[tuple[str, str | None]] = set()  # forks abandoned (a plan's abandon ends each)
    durations: list[float] = []
    tasks = repairs = refused = malformed = approvals = 0
    tokens_in = tokens_out = 0
    cost = 0.0
    reported_usage = False
    for event in ledger.events(plan=plan, newest_first=False):
        key = (event.plan, event.fork, event.step, event.attempt)
        if event.type is EventType.TASK_CREATED:
            tasks += 1
            started[key] = event.time or ""
        elif event.type in VERDICTS:
            statuses[VERDICTS[event.type]] += 1
            if event.type is EventType.TASK_REJECTED:
                violations[str(event.data.get("kind", "unknown"))] += 1
            begin = started.pop(key, None)
            if begin and event.time:
                durations.append(_seconds(begin, event.time))
        elif event.type is EventType.REPAIR_SCHEDULED:
            repairs += 1
        elif event.type is EventType.RESULT_REFUSED and event.data.get("kind") == "invalid_result":
            malformed += 1  # refused while its attempt went on (handoff): not stale
        elif event.type is EventType.RESULT_REFUSED:
            refused += 1
        elif event.type is EventType.APPROVAL_REQUESTED:
            approvals += 1
        elif event.type is EventType.APPROVAL_DENIED and started.pop(key, None) is not None:
            statuses["rejected"] += 1  # a received change a person rejected in review: its verdict
        elif event.type is EventType.FORK_ABANDONED:
            ended.add((event.plan, event.fork))
        elif event.type is EventType.RESULT_RECEIVED:
            usage = event.data.get("tokens")
            if isinstance(usage, dict):
                reported_usage = True
                tokens_in += int(usage.get("input", 0))
                tokens_out += int(usage.get("output", 0))
            if isinstance(event.data.get("cost"), int | float):
                reported_usage = True
                cost += float(event.data["cost"])
    finished = sum(statuses.values())
    for task_plan, fork, _, _ in started:  # handed out, never judged
        statuses["abandoned" if (task_plan, fork) in ended else "open"] += 1
    return {
        "tasks": tasks,
        "by_status": {name: statuses.get(name, 0) for name in [*VERDICTS.values(), *UNFINISHED]},
        "success_rate": round(statuses["completed"] / finished, 3) if finished else None,
        "duration_seconds": {
            "mean": round(sum(durations) / len(durations), 3) if durations else None,
            "p95": round(_p95(durations), 3) if durations else None,
        },
        "timeouts": statuses["timed_out"],
        "violations": dict(sorted(violations.items())),
        "repairs": repairs,
        "stale_results_refused": refused,
        "malformed_results_refused": malformed,
        "approvals_requested": approvals,
        "tokens": {"input": tokens_in, "output": tokens_out} if reported_usage else None,
        "cost_usd": round(cost, 6) if reported_usage else None,
    }


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
