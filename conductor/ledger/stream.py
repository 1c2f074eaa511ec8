"""The merged event stream: the events of several logs in time order, lazily.

Which logs: the live ones (listed by prefix), and for one plan its archived ones too
(`select`). The whole stream comes from the Repo's `walk_logs` (for a GitRepo one `git log
--date-order --source`), which orders commits by the second; the events of one second are put
in exact order here by their microsecond timestamps. The newest N events (`newest`) are merged
without reading every log: the logs are put in the order of their tips' times and a log is
opened only once it may hold an event newer than the newest one open.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterator, Mapping

from conductor.ledger import message, refs
from conductor.ledger.archive import Archive
from conductor.ledger.repo import Repo
from conductor.models.event import Event


def select(
    repo: Repo, archive: Archive, *, plan: str | None, fork: str | None, include_memory: bool
) -> dict[str, str]:
    """The logs `events` reads, each with the commit it starts at: its live ref's, or (with
    `plan`) its archived tip. Without `plan`: the live plan and fork logs (and the memory log if
    asked), never the work queue nor the archive."""
    if plan is None:
        patterns = [refs.PLANS_PREFIX, refs.FORKS_PREFIX, *([refs.MEMORY] if include_memory else [])]
    else:
        patterns = [refs.plan_log(plan), refs.fork_log(plan, "")]
    starts = dict(repo.ref_tips(*patterns))
    if plan is not None:
        for name in [refs.plan_log(plan), *(refs.fork_log(plan, f) for f in archive.forks(plan))]:
            target = archive.tip(name) if name not in starts else None
            if target is not None:
                starts[name] = target
    selected: dict[str, str] = {}
    for name in sorted(starts):
        parsed = refs.parse(name)
        if parsed is None or (parsed.kind == "memory" and not include_memory):
            continue
        if (plan is not None and parsed.plan != plan) or (fork is not None and parsed.fork != fork):
            continue
        selected[name] = starts[name]
    return selected


def walk(repo: Repo, start: str, ref: str) -> Iterator[Event]:
    """The events of one log from `start`, newest first, lazily."""
    decode = message.decode
    for commit, text in repo.first_parents(start):
        yield decode(text, commit=commit, ref=ref)


def merged(repo: Repo, logs: Mapping[str, str], *, newest_first: bool) -> Iterator[Event]:
    """Every event of `logs` (name -> start), in exact time order."""
    decode = message.decode
    pending: list[Event] = []
    second = ""
    for commit, name, text in repo.walk_logs(logs, newest_first=newest_first):
        event = decode(text, commit=commit, ref=name)
        stamp = (event.time or "")[:19]
        if stamp != second:
            yield from _ordered(pending, newest_first)
            pending.clear()
            second = stamp
        pending.append(event)
    yield from _ordered(pending, newest_first)


def newest(repo: Repo, logs: Mapping[str, str]) -> Iterator[Event]:
    """The events of `logs`, newest first, reading only what is asked for: a log is opened only
    once it may hold an event newer than the newest one open (its start's commit time is its
    last event's second), so the first N events cost N commits and the logs they come from,
    however many."""
    waiting = repo.newest_first(logs.items())
    heap: list[_Head] = []
    opened = 0
    while True:
        while opened < len(waiting) and (
            not heap or repo.read_commit(waiting[opened][1]).time + 1 > -heap[0][0]
        ):
            name, start = waiting[opened]
            opened += 1
            _push(heap, walk(repo, start, name), opened)
        if not heap:
            return
        _, _, _, order, event, walker = heapq.heappop(heap)
        yield event
        _push(heap, walker, order)


def checked(events: Iterator[Event], check: Callable[[str], object]) -> Iterator[Event]:
    """The events, each log's format checked (`check`, given its name) when its first event
    comes: a reader that stops early (--limit) reads only the logs it printed from."""
    seen: set[str] = set()
    for event in events:
        if event.ref is not None and event.ref not in seen:
            seen.add(event.ref)
            check(event.ref)
        yield event


def _ordered(events: list[Event], newest_first: bool) -> list[Event]:
    """Events of one commit-time second in exact order (git orders by whole seconds only)."""
    if len(events) > 1:
        events = sorted(events, key=_key, reverse=newest_first)
    return events


def _key(event: Event) -> tuple[str, str, int]:
    return (event.time or "", event.ref or "", event.seq)


def _push(heap: list[_Head], walker: Iterator[Event], order: int) -> None:
    event = next(walker, None)
    if event is not None:
        when = dt.datetime.fromisoformat(event.time.replace("Z", "+00:00")).timestamp() if event.time else 0.0
        heapq.heappush(heap, (-when, _Backwards(event.ref or ""), -event.seq, order, event, walker))


class _Backwards(str):
    """A string that orders backwards: newest-first merges break ties by ref name descending,
    as `merged` orders events of the same time."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)


_Head = tuple[float, _Backwards, int, int, Event, Iterator[Event]]
"""A log's next event in a newest-first merge: (-time, ref, -seq, log order, event, walker)."""
