"""`conductor events`: the event log across plans, newest first, filtered and limited."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.output import emit_json_line


def select(
    ledger: Ledger,
    *,
    plan: str | None = None,
    fork: str | None = None,
    types: list[str] | None = None,
    limit: int | None = None,
    oldest_first: bool = False,
) -> Iterator[Event]:
    kinds = [EventType.parse(t) for t in types] if types else None
    found = ledger.events(plan=plan, fork=fork, types=kinds, newest_first=not oldest_first)
    return itertools.islice(found, limit) if limit is not None else found


def line(event: Event) -> str:
    """One event as a line of text: time, where, type, step#attempt, summary."""
    when = f"{event.time[:10]} {event.time[11:19]}" if event.time else "-"
    where = f"{event.plan}/{event.fork}" if event.fork else event.plan
    step = event.step or ""
    if step and event.attempt is not None:
        step = f"{step}#{event.attempt}"
    return f"{when}  {where:<28} {event.type.value:<19} {step:<11} {event.summary}"


def write(events: Iterator[Event], *, as_json: bool) -> int:
    """Stream events to stdout; returns how many were written."""
    count = 0
    out = sys.stdout
    for event in events:
        if as_json:
            emit_json_line(event.to_json())
        else:
            out.write(line(event) + "\n")
        count += 1
    return count
