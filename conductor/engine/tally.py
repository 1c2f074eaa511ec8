"""The handoff metrics as a fold: what the executors did (`conductor handoff-metrics`,
`.conductor/handoff/metrics.json`), summed from the fork logs' events.

Every total only adds up — counts, microseconds, billionths of a dollar, a histogram of the
durations — so folding a fork's new events onto the previous totals gives what folding every
event from the start gives, in any order. What a fork still owes the totals is kept per fork
(`ForkTally`): how far its log was folded, its tasks handed out without a verdict yet, and
whether it was abandoned. runner/logs/tally.py keeps both in the ledger; `metrics` turns them
into the report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from conductor.models.event import Event, EventType

VERDICTS = {
    EventType.TASK_COMPLETED: "completed",
    EventType.TASK_REJECTED: "rejected",
    EventType.TASK_FAILED: "failed",
    EventType.TASK_TIMED_OUT: "timed_out",
}
UNFINISHED = {
    # a task handed out that has no verdict: why not (each task is counted once, in by_state)
    "abandoned": "then abandoned (conductor abandon) before a verdict",
    "open": "no verdict yet (its plan is running, halted or interrupted)",
}
NANO = 10**9  # costs are summed in billionths of a dollar: integers add up the same in any order
MICROSECOND = timedelta(microseconds=1)

Task = tuple[str | None, int | None]  # (step, attempt) of a task handed out


@dataclass
class ForkTally:
    """What the metrics keep of one fork log."""

    seq: int = 0  # its events up to this one are in the totals
    open: dict[Task, str] = field(default_factory=dict)  # handed out, no verdict yet: since when
    abandoned: bool = False

    def owed(self) -> tuple[int, int]:
        """Its tasks without a verdict: (open, abandoned)."""
        return (0, len(self.open)) if self.abandoned else (len(self.open), 0)

    def record(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "open": [[step, attempt, since] for (step, attempt), since in self.open.items()],
            "abandoned": self.abandoned,
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> ForkTally:
        """As `record` wrote it (KeyError, TypeError or ValueError when malformed)."""
        opened: dict[Task, str] = {}
        for step, attempt, since in data["open"]:
            task = (None if step is None else str(step), None if attempt is None else int(attempt))
            opened[task] = str(since)
        return cls(int(data["seq"]), opened, bool(data["abandoned"]))


@dataclass
class Durations:
    """How long tasks took from handed out to verdict: a count, a sum (microseconds) and a
    histogram of milliseconds, filed by the second (`buckets`: how many in each second; the
    milliseconds of a second are a file of their own in the ledger, read only for the p95)."""

    count: int = 0
    total_us: int = 0
    buckets: Counter[int] = field(default_factory=Counter)
    added: Counter[int] = field(default_factory=Counter)  # milliseconds folded since loaded

    def add(self, microseconds: int) -> None:
        ms = (microseconds + 500) // 1000
        self.count += 1
        self.total_us += microseconds
        self.buckets[ms // 1000] += 1
        self.added[ms] += 1

    def seconds_added(self) -> set[int]:
        """The buckets the durations folded since loading fall in."""
        return {ms // 1000 for ms in self.added}

    def bucket(self, second: int, kept: Mapping[int, int]) -> Counter[int]:
        """One second's milliseconds: those kept for it and those added since."""
        merged = Counter(kept)
        merged.update({ms: n for ms, n in self.added.items() if ms // 1000 == second})
        return merged

    def mean(self) -> float | None:
        return round(self.total_us / self.count / 1e6, 3) if self.count else None

    def p95(self, kept: Callable[[int], Mapping[int, int]]) -> float | None:
        """The 95th percentile (of the durations in order, the one at ceil(0.95 n)), reading
        the milliseconds of one second only: `kept(second)` gives those kept for it."""
        if not self.count:
            return None
        rank = min(self.count - 1, math.ceil(0.95 * self.count) - 1)
        seen = 0
        for second in sorted(self.buckets):
            if seen + self.buckets[second] <= rank:
                seen += self.buckets[second]
                continue
            values = self.bucket(second, kept(second))
            for ms in sorted(values):
                seen += values[ms]
                if seen > rank:
                    return round(ms / 1000, 3)
        raise ValueError("the duration histogram does not add up to its count")


@dataclass
class Tally:
    """The totals over every fork folded so far."""

    tasks: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    repairs: int = 0
    refused: int = 0  # late results (of an attempt that was over)
    malformed: int = 0  # results refused while their attempt went on (a handoff agent corrects them)
    approvals: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_nano: int = 0
    reported_usage: bool = False
    open: int = 0  # tasks without a verdict whose fork goes on
    abandoned: int = 0  # tasks without a verdict whose fork was abandoned
    durations: Durations = field(default_factory=Durations)

    def fold(self, fork: ForkTally, events: Iterable[Event]) -> None:
        """Add `events` — the fork's next ones, oldest first — to the totals."""
        open_before, abandoned_before = fork.owed()
        for event in events:
            self._apply(fork, event)
            fork.seq = max(fork.seq, event.seq)
        open_after, abandoned_after = fork.owed()
        self.open += open_after - open_before
        self.abandoned += abandoned_after - abandoned_before

    def _apply(self, fork: ForkTally, event: Event) -> None:
        kind, task = event.type, (event.step, event.attempt)
        if kind is EventType.TASK_CREATED:
            self.tasks += 1
            fork.open[task] = event.time or ""
        elif kind in VERDICTS:
            self.verdicts[VERDICTS[kind]] += 1
            if kind is EventType.TASK_REJECTED:
                self.violations[str(event.data.get("kind", "unknown"))] += 1
            begin = fork.open.pop(task, None)
            if begin and event.time:
                took = datetime.fromisoformat(event.time) - datetime.fromisoformat(begin)
                self.durations.add(took // MICROSECOND)
        elif kind is EventType.REPAIR_SCHEDULED:
            self.repairs += 1
        elif kind is EventType.RESULT_REFUSED and event.data.get("kind") == "invalid_result":
            self.malformed += 1  # refused while its attempt went on (handoff): not stale
        elif kind is EventType.RESULT_REFUSED:
            self.refused += 1
        elif kind is EventType.APPROVAL_REQUESTED:
            self.approvals += 1
        elif kind is EventType.APPROVAL_DENIED and fork.open.pop(task, None) is not None:
            self.verdicts["rejected"] += 1  # a received change a person rejected in review: its verdict
        elif kind is EventType.FORK_ABANDONED:
            fork.abandoned = True
        elif kind is EventType.RESULT_RECEIVED:
            self._usage(event.data)

    def _usage(self, data: Mapping[str, Any]) -> None:
        usage = data.get("tokens")
        if isinstance(usage, dict):
            self.reported_usage = True
            self.tokens_in += int(usage.get("input", 0))
            self.tokens_out += int(usage.get("output", 0))
        if isinstance(data.get("cost"), int | float):
            self.reported_usage = True
            self.cost_nano += round(float(data["cost"]) * NANO)

    def metrics(self, kept: Callable[[int], Mapping[int, int]]) -> dict[str, Any]:
        """The report (`conductor handoff-metrics --json`); `kept(second)` gives the durations'
        milliseconds kept for one second (Durations.p95)."""
        finished = sum(self.verdicts.values())
        unfinished = {"abandoned": self.abandoned, "open": self.open}
        reported = self.reported_usage
        return {
            "tasks": self.tasks,
            "by_state": {  # each task's outcome: the state it ended in, or is in
                **{name: self.verdicts.get(name, 0) for name in VERDICTS.values()},
                **{name: unfinished[name] for name in UNFINISHED},
            },
            "success_rate": round(self.verdicts["completed"] / finished, 3) if finished else None,
            "duration_seconds": {"mean": self.durations.mean(), "p95": self.durations.p95(kept)},
            "timeouts": self.verdicts["timed_out"],
            "violations": dict(sorted(self.violations.items())),
            "repairs": self.repairs,
            "stale_results_refused": self.refused,
            "malformed_results_refused": self.malformed,
            "approvals_requested": self.approvals,
            "tokens": {"input": self.tokens_in, "output": self.tokens_out} if reported else None,
            "cost_usd": round(self.cost_nano / NANO, 6) if reported else None,
        }

    def record(self) -> dict[str, Any]:
        """`tally.json`: the totals (the durations' milliseconds are filed by second apart)."""
        return {
            "tasks": self.tasks,
            "verdicts": dict(sorted(self.verdicts.items())),
            "violations": dict(sorted(self.violations.items())),
            "repairs": self.repairs,
            "refused": self.refused,
            "malformed": self.malformed,
            "approvals": self.approvals,
            "tokens": {"input": self.tokens_in, "output": self.tokens_out},
            "cost_nano": self.cost_nano,
            "reported_usage": self.reported_usage,
            "open": self.open,
            "abandoned": self.abandoned,
            "durations": {
                "count": self.durations.count,
                "total_us": self.durations.total_us,
                "buckets": {str(second): n for second, n in sorted(self.durations.buckets.items())},
            },
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> Tally:
        """As `record` wrote it (KeyError, TypeError or ValueError when malformed)."""
        durations = data["durations"]
        return cls(
            tasks=int(data["tasks"]),
            verdicts=Counter({str(k): int(n) for k, n in dict(data["verdicts"]).items()}),
            violations=Counter({str(k): int(n) for k, n in dict(data["violations"]).items()}),
            repairs=int(data["repairs"]),
            refused=int(data["refused"]),
            malformed=int(data["malformed"]),
            approvals=int(data["approvals"]),
            tokens_in=int(data["tokens"]["input"]),
            tokens_out=int(data["tokens"]["output"]),
            cost_nano=int(data["cost_nano"]),
            reported_usage=bool(data["reported_usage"]),
            open=int(data["open"]),
            abandoned=int(data["abandoned"]),
            durations=Durations(
                int(durations["count"]),
                int(durations["total_us"]),
                Counter({int(second): int(n) for second, n in dict(durations["buckets"]).items()}),
            ),
        )


def bucket_record(values: Mapping[int, int]) -> dict[str, int]:
    """One second's milliseconds as the ledger files them."""
    return {str(ms): n for ms, n in sorted(values.items())}


def bucket_restore(data: Mapping[str, Any]) -> dict[int, int]:
    return {int(ms): int(n) for ms, n in data.items()}
