"""The handoff metrics as a fold (engine/tally.py): totals folded in pieces, kept and read back
between them, are the totals folded at once — the p95 exact, the unfinished tasks counted as
open or abandoned whichever piece ended their fork."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from conductor.engine.tally import ForkTally, Tally, bucket_record, bucket_restore
from conductor.models.event import Event, EventType
from tests.conftest import event

START = datetime(2026, 12, 1, tzinfo=UTC)


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def numbered(events: list[Event]) -> list[Event]:
    return [replace(e, seq=i) for i, e in enumerate(events, 1)]


def fork_events(fork: str, durations: list[float], *, abandon_open: bool = False) -> list[Event]:
    """One task per duration, each completed after it; then one task left open (abandoned)."""
    out, clock = [event(EventType.FORK_CREATED, fork=fork)], 0.0
    for n, took in enumerate(durations, 1):
        step = f"step_{n:03d}"
        out.append(replace(event(EventType.TASK_CREATED, step, 1, fork=fork), time=at(clock)))
        clock += took
        out.append(replace(event(EventType.TASK_COMPLETED, step, 1, fork=fork), time=at(clock)))
    out.append(replace(event(EventType.TASK_CREATED, "step_999", 1, fork=fork), time=at(clock)))
    out.append(replace(event(EventType.RESULT_RECEIVED, "step_999", 1, fork=fork, cost=0.1), time=at(clock)))
    if abandon_open:
        out.append(replace(event(EventType.FORK_ABANDONED, fork=fork), time=at(clock + 1)))
    return numbered(out)


class Kept:
    """Totals and fork tallies as the ledger keeps them: written, read back, between pieces."""

    def __init__(self) -> None:
        self.tally: dict[str, object] = Tally().record()
        self.forks: dict[str, dict[str, object]] = {}
        self.buckets: dict[int, dict[str, int]] = {}

    def fold(self, fork: str, events: list[Event]) -> None:
        tally = Tally.restore(json.loads(json.dumps(self.tally)))
        log = ForkTally.restore(self.forks[fork]) if fork in self.forks else ForkTally()
        tally.fold(log, [e for e in events if e.seq > log.seq])
        for second in tally.durations.seconds_added():
            merged = tally.durations.bucket(second, bucket_restore(self.buckets.get(second, {})))
            self.buckets[second] = bucket_record(merged)
        self.tally, self.forks[fork] = tally.record(), json.loads(json.dumps(log.record()))

    def metrics(self) -> dict[str, object]:
        return Tally.restore(self.tally).metrics(lambda second: bucket_restore(self.buckets.get(second, {})))


def test_totals_folded_in_pieces_are_the_totals_folded_at_once() -> None:
    rng = random.Random(7)
    durations = {f: [round(rng.uniform(0.01, 40), 6) for _ in range(60)] for f in ("a", "b", "c")}
    logs = {f: fork_events(f, durations[f], abandon_open=f == "c") for f in durations}
    at_once, forks = Tally(), {f: ForkTally() for f in logs}
    for fork, events in logs.items():
        at_once.fold(forks[fork], events)
    expected = at_once.metrics(lambda second: {})
    kept = Kept()
    for cut in (5, 40, 90, 10**6):  # each fork's log in pieces, the pieces interleaved
        for fork, events in logs.items():
            kept.fold(fork, events[:cut])
    assert kept.metrics() == expected
    assert expected["tasks"] == 3 * 61
    assert expected["by_state"] == {
        "completed": 180,
        "rejected": 0,
        "failed": 0,
        "timed_out": 0,
        "abandoned": 1,  # fork c's open task: its fork was abandoned in the last piece
        "open": 2,
    }
    assert expected["cost_usd"] == 0.3  # 0.1 three times, in billionths: no float drift
    every = sorted(d for ds in durations.values() for d in ds)
    p95 = every[min(len(every) - 1, math.ceil(0.95 * len(every)) - 1)]
    assert expected["duration_seconds"] == {"mean": round(sum(every) / len(every), 3), "p95": round(p95, 3)}


def test_a_review_rejection_is_a_verdict_and_a_repair_is_not() -> None:
    events = numbered(
        [
            replace(event(EventType.TASK_CREATED, "step_001", 1), time=at(0)),
            replace(event(EventType.TASK_REJECTED, "step_001", 1, kind="protected_file"), time=at(2)),
            event(EventType.REPAIR_SCHEDULED, "step_001", 2),
            replace(event(EventType.TASK_CREATED, "step_001", 2), time=at(3)),
            event(EventType.APPROVAL_REQUESTED, "step_001", 2, review=True),
            event(EventType.APPROVAL_DENIED, "step_001", 2),
            event(EventType.RESULT_REFUSED, "step_001", 1, kind="late"),
        ]
    )
    tally = Tally()
    tally.fold(ForkTally(), events)
    metrics = tally.metrics(lambda second: {})
    assert metrics["by_state"]["rejected"] == 2 and metrics["violations"] == {"protected_file": 1}
    assert (metrics["repairs"], metrics["approvals_requested"], metrics["stale_results_refused"]) == (1, 1, 1)
    assert metrics["duration_seconds"] == {"mean": 2.0, "p95": 2.0}  # the denied one never started a clock
    assert metrics["tokens"] is None and metrics["cost_usd"] is None


def test_what_is_kept_reads_back_and_malformed_is_refused() -> None:
    tally, log = Tally(), ForkTally()
    tally.fold(log, fork_events("a", [1.5, 2.25]))
    assert Tally.restore(json.loads(json.dumps(tally.record()))).record() == tally.record()
    assert ForkTally.restore(json.loads(json.dumps(log.record()))) == log
    for broken in ({}, {**tally.record(), "durations": {"count": 1}}, {**tally.record(), "tasks": "x"}):
        try:
            Tally.restore(broken)
        except (KeyError, TypeError, ValueError):
            continue
        raise AssertionError(f"restored {broken}")
