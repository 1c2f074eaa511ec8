"""`conductor events`: the event log across plans, newest first, filtered and limited.

The log can be long, so it is streamed: events are read lazily (`--limit 10` reads the newest
ten, opening only the logs they come from: Ledger.events) and written as they come, one line
(or one JSON object) each. So that the columns line
up without reading ahead, the `where` column is as wide as the longest PLAN/FORK among the
logs listed (known from the refs alone); type and step have fixed widths.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.project import find_root
from conductor.report import Report, json_line
from conductor.terminal import Screen

TYPE_WIDTH = max(len(kind.value) for kind in EventType)
STEP_WIDTH = len("step_001#10")
WHERE_WIDTH = 28  # without a ledger to measure


def line(event: Event, where_width: int = WHERE_WIDTH) -> str:
    """One event as a line of text: time, where, type, step#attempt, summary."""
    when = f"{event.time[:10]} {event.time[11:19]}" if event.time else "-" * 19
    where = f"{event.plan}/{event.fork}" if event.fork else event.plan
    step = event.step or ""
    if step and event.attempt is not None:
        step = f"{step}#{event.attempt}"
    kind = event.type.value
    return f"{when}  {where:<{where_width}}  {kind:<{TYPE_WIDTH}}  {step:<{STEP_WIDTH}}  {event.summary}"


def where_width(names: Iterable[str]) -> int:
    """The longest `PLAN` or `PLAN/FORK` among the logs `events` lists (Ledger.event_logs)."""
    return max(
        (len(name.removeprefix(refs.PLANS_PREFIX).removeprefix(refs.FORKS_PREFIX)) for name in names),
        default=0,
    )


@dataclass
class EventLog(Report):
    events: Iterator[Event]
    filtered: bool  # a filter was given: "no events match" rather than "no events yet"
    where_width: int = WHERE_WIDTH

    def to_json(self) -> list[dict[str, Any]]:
        return [event.to_json() for event in self.events]

    def render(self) -> str:
        return "\n".join(line(event, self.where_width) for event in self.events)

    def show(self, screen: Screen, *, as_json: bool) -> None:
        """JSON Lines with --json, else one line of text per event, as they are read."""
        count = 0
        for event in self.events:
            screen.write((json_line(event.to_json()) if as_json else line(event, self.where_width)) + "\n")
            count += 1
        screen.flush()
        if count == 0 and not as_json:
            print("No events match." if self.filtered else "No events yet.", file=sys.stderr)


def run(
    *,
    plan: str | None = None,
    fork: str | None = None,
    types: list[EventType] | None = None,
    limit: int | None = None,
    oldest_first: bool = False,
) -> EventLog:
    ledger = Ledger(find_root())
    logs = ledger.event_logs(plan=plan, fork=fork)  # listed once: for the width and to read
    if plan is not None and not logs and not ledger.event_logs(plan=plan):  # not a filter: a typo
        from conductor.runner.logs.plans import unknown_plan  # only then: the listing imports no models

        raise unknown_plan(ledger, plan)
    found = ledger.events(types=types, newest_first=not oldest_first, limit=limit, logs=logs)
    return EventLog(found, bool(plan or fork or types), where_width(logs))
