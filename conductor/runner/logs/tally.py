"""The handoff metrics kept in the ledger: `refs/conductor/metrics`, a log whose tip holds the
totals over every fork log folded so far (engine/tally.py) and how far each fork log was folded
(docs/storage.md "The handoff metrics").

A run ends by folding its plan's new events onto the previous totals (`update`): what it reads
and writes follows the run, not the history. When the kept totals are missing (a repository a
Conductor without them ran in) or of another format, every fork log is folded again from the
start (`recompute`, also `conductor handoff-metrics --recompute`), once. A run that was killed
before its end is folded by the next run of its plan. The events stay the truth; the log is a
cache of their fold, and `recompute` gives what `update` gives (tests/runner/test_tally.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conductor.engine.tally import ForkTally, Tally, bucket_record, bucket_restore
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.models.layout import (
    TALLY_DURATIONS,
    TALLY_FILE,
    TALLY_FORKS,
    tally_duration,
    tally_fork,
)
from conductor.runner.logs.records import json_object

TALLY_FORMAT = 1
"""The format of `tally.json`; totals of another are folded again from the logs."""

Changes = dict[str, str | None]


@dataclass
class Kept:
    """Totals, and where the milliseconds of each second are filed (None: all in `tally`)."""

    tally: Tally
    snapshot: Snapshot | None = None
    forks: dict[tuple[str, str], ForkTally] = field(default_factory=dict)  # those folded here

    def metrics(self) -> dict[str, Any]:
        return self.tally.metrics(self.bucket)

    def bucket(self, second: int) -> Mapping[int, int]:
        data = json_object(self.snapshot.read(tally_duration(second))) if self.snapshot is not None else None
        return bucket_restore(data) if data is not None else {}


def read(ledger: Ledger) -> Kept | None:
    """The totals as the metrics log keeps them; None when it keeps none this Conductor reads."""
    tip = ledger.tip(refs.METRICS)
    tally = _load(tip) if tip is not None else None
    return Kept(tally, tip) if tally is not None else None


def current(ledger: Ledger) -> Kept:
    """The totals kept, or, when none are, folded now from every log (and not kept)."""
    return read(ledger) or fold_logs(ledger)


def fold_logs(ledger: Ledger, *, plan: str | None = None) -> Kept:
    """Every fork log (of `plan`, or of every plan, archived ones too) folded from the start."""
    kept = Kept(Tally())
    for plan_id, forks in ledger.plans_and_forks(plan).items():
        for fork in forks:
            log = kept.forks[(plan_id, fork)] = ForkTally()
            kept.tally.fold(log, _since(ledger, plan_id, fork, 0))
    return kept


def update(ledger: Ledger, plan: str) -> None:
    """Fold the new events of `plan`'s fork logs onto the kept totals (all of them, from every
    log, when none are kept). Nothing is recorded when there is nothing new."""

    def change(snapshot: Snapshot | None) -> Changes | None:
        tally = _load(snapshot) if snapshot is not None else None
        if snapshot is None or tally is None:
            return _everything(ledger, snapshot)
        files: Changes = {}
        for fork in ledger.forks(plan):
            path = tally_fork(plan, fork)
            raw = snapshot.read(path)
            log = _fork(raw) if raw is not None else ForkTally()
            if log is None:  # a file this Conductor did not write
                return _everything(ledger, snapshot)
            events = _since(ledger, plan, fork, log.seq)
            if events:
                tally.fold(log, events)
                files[path] = _dumps(log.record())
        if not files:
            return None
        return {**files, **_totals(Kept(tally, snapshot))}

    ledger.append_once(refs.METRICS, _event(plan, f"folded the new events of {plan}"), change)


def recompute(ledger: Ledger) -> Kept:
    """Fold every fork log again from the start, and keep that (whatever was kept is replaced)."""
    ledger.append(
        refs.METRICS, _event("*", "folded every fork log again"), lambda tip: _everything(ledger, tip)
    )
    kept = read(ledger)
    assert kept is not None, "the totals were just recorded"
    return kept


def _everything(ledger: Ledger, snapshot: Snapshot | None) -> Changes:
    """The files of the totals folded from every log, and what is kept now that they replace."""
    kept = fold_logs(ledger)
    files: Changes = {}
    if snapshot is not None:
        for folder in (TALLY_FORKS, TALLY_DURATIONS):
            files.update({path: None for path in snapshot.files(folder)})
    for (plan, fork), log in kept.forks.items():
        files[tally_fork(plan, fork)] = _dumps(log.record())
    return {**files, **_totals(kept)}


def _totals(kept: Kept) -> Changes:
    """`tally.json`, and the file of each second the durations folded since loading fall in."""
    tally = kept.tally
    files: Changes = {TALLY_FILE: _dumps({"format": TALLY_FORMAT, **tally.record()})}
    for second in sorted(tally.durations.seconds_added()):
        merged = tally.durations.bucket(second, kept.bucket(second))
        files[tally_duration(second)] = _dumps(bucket_record(merged))
    return files


def _since(ledger: Ledger, plan: str, fork: str, seq: int) -> list[Event]:
    """The events of a fork log after `seq`, oldest first (read from its tip back to there)."""
    newer: list[Event] = []
    for event in ledger.log(refs.fork_log(plan, fork), newest_first=True):
        if event.seq <= seq:
            break
        newer.append(event)
    newer.reverse()
    return newer


def _event(plan: str, summary: str) -> Event:
    return Event(EventType.METRICS_FOLDED, plan=plan, summary=summary)


def _load(snapshot: Snapshot) -> Tally | None:
    data = json_object(snapshot.read(TALLY_FILE))
    if data is None or data.get("format") != TALLY_FORMAT:
        return None
    try:
        return Tally.restore(data)
    except (KeyError, TypeError, ValueError):
        return None


def _fork(raw: bytes) -> ForkTally | None:
    data = json_object(raw)
    try:
        return ForkTally.restore(data) if data is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"
