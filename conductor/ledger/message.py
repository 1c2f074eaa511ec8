"""The commit message of a ledger event: a summary line, then `Conductor-*` trailers.

    task.created step_001 (attempt 1): Create hello.py

    Conductor-Event: task.created
    Conductor-Plan: hello-3f9a
    Conductor-Fork: main
    Conductor-Step: step_001
    Conductor-Attempt: 1
    Conductor-Seq: 3
    Conductor-Time: 2026-11-24T03:20:43.123456Z
    Conductor-Data: {"checksum": "sha256:..."}

`git interpret-trailers --parse` reads the same trailers. Values are single lines: ids are
validated, the summary is flattened and data is compact JSON (which escapes newlines).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from conductor.errors import LedgerFormatError
from conductor.models.event import Event, EventType

_SUMMARY_MAX = 200


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_time(text: str) -> str:
    """`text` if it is a timestamp as format_time writes it (fixed width, so it sorts)."""
    if len(text) != 27 or text[10] != "T" or text[-1] != "Z":
        raise ValueError(f"time '{text}' is not a UTC timestamp like 2026-11-24T03:20:43.123456Z")
    return text


def one_line(text: str, limit: int = _SUMMARY_MAX) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def subject(event: Event) -> str:
    """The first line of the commit: the type, where it happened, and the summary."""
    where = event.step or event.fork or event.plan
    if event.attempt is not None and event.step:
        where = f"{where} (attempt {event.attempt})"
    return one_line(f"{event.type.value} {where}: {event.summary}")


def encode(event: Event) -> str:
    """The full commit message for `event` (which must carry its seq and time)."""
    if event.time is None or event.seq < 1:
        raise ValueError("an event needs a time and a seq before it is encoded")
    lines = [subject(event), "", f"Conductor-Event: {event.type.value}", f"Conductor-Plan: {event.plan}"]
    if event.fork is not None:
        lines.append(f"Conductor-Fork: {event.fork}")
    if event.step is not None:
        lines.append(f"Conductor-Step: {event.step}")
    if event.attempt is not None:
        lines.append(f"Conductor-Attempt: {event.attempt}")
    if event.state is not None:
        lines.append(f"Conductor-State: {event.state}")
    lines.append(f"Conductor-Seq: {event.seq}")
    lines.append(f"Conductor-Time: {event.time}")
    if event.data:
        data = json.dumps(event.data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        lines.append(f"Conductor-Data: {data}")
    return "\n".join(lines) + "\n"


_TYPES = {kind.value: kind for kind in EventType}

# The exact layout `encode` writes, matched in one regex call: the fast path for reading
# long logs. Anything else (hand-written, reordered, extra trailers) takes the general path.
_LINE = r"[^\n]*"
_FAST = re.compile(
    rf"(?P<subject>{_LINE})\n\n"
    rf"Conductor-Event: (?P<Event>{_LINE})\n"
    rf"Conductor-Plan: (?P<Plan>{_LINE})\n"
    rf"(?:Conductor-Fork: (?P<Fork>{_LINE})\n)?"
    rf"(?:Conductor-Step: (?P<Step>{_LINE})\n)?"
    rf"(?:Conductor-Attempt: (?P<Attempt>[0-9]+)\n)?"
    rf"(?:Conductor-State: (?P<State>{_LINE})\n)?"
    rf"Conductor-Seq: (?P<Seq>[0-9]+)\n"
    rf"Conductor-Time: (?P<Time>{_LINE})\n"
    rf"(?:Conductor-Data: (?P<Data>{_LINE})\n)?\Z"
)


def _fields(message: str) -> tuple[str, dict[str, str]]:
    """The subject line and the Conductor-* trailers (without the prefix) of a message."""
    head, *trailers = message.rstrip("\n").split("\nConductor-")
    fields: dict[str, str] = {}
    for item in trailers:
        key, _, value = item.partition(": ")
        fields[key] = value
    return head.partition("\n")[0], fields


def decode(message: str, *, commit: str | None = None, ref: str | None = None) -> Event:
    """Parse an event message; a message that is not one raises LedgerFormatError."""
    fast = _FAST.match(message)
    if fast is not None:
        subject_line, *values = fast.groups()
        kind = _TYPES.get(values[0])
        if kind is not None:
            _, plan, fork, step, attempt, state, seq, when, data_text = values
            return Event(
                kind,
                plan,
                subject_line.partition(": ")[2] or subject_line,
                fork,
                step,
                int(attempt) if attempt is not None else None,
                state,
                _data(data_text, commit) if data_text is not None else {},
                int(seq),
                check_time(when),
                commit,
                ref,
            )
    subject_line, fields = _fields(message)
    get = fields.get
    try:
        kind = _TYPES[fields["Event"]]
        plan = fields["Plan"]
        seq = int(fields["Seq"])
        when = check_time(fields["Time"])
        attempt_text = get("Attempt")
        attempt = int(attempt_text) if attempt_text is not None else None
        data_text = get("Data")
        data = _data(data_text, commit) if data_text is not None else {}
    except KeyError as exc:
        where = f"ledger commit {commit[:12]}" if commit else "ledger message"
        name = exc.args[0]
        if name in fields.values():
            raise LedgerFormatError(
                f"{where} records an unknown event type '{name}'",
                hint="it was probably written by a newer Conductor: upgrade Conductor",
            ) from None
        raise LedgerFormatError(f"{where} is missing the Conductor-{name} trailer") from None
    except ValueError as exc:
        where = f"ledger commit {commit[:12]}" if commit else "ledger message"
        raise LedgerFormatError(
            f"{where} has an unreadable trailer: {exc}",
            hint="if it was written by a newer Conductor, upgrade Conductor",
        ) from None
    return Event(
        kind,
        plan,
        subject_line.partition(": ")[2] or subject_line,
        get("Fork"),
        get("Step"),
        attempt,
        get("State"),
        data,
        seq,
        when,
        commit,
        ref,
    )


def _data(text: str, commit: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise LedgerFormatError(f"ledger commit {commit}: Conductor-Data is not a JSON object")
    return data
