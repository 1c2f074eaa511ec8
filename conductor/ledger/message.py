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
from typing import Any

from conductor.errors import LedgerFormatError
from conductor.models.event import Event, EventType

_SUMMARY_MAX = 200

_KEYS = {
    "Conductor-Event": "type",
    "Conductor-Plan": "plan",
    "Conductor-Fork": "fork",
    "Conductor-Step": "step",
    "Conductor-Attempt": "attempt",
    "Conductor-State": "state",
    "Conductor-Seq": "seq",
    "Conductor-Time": "time",
    "Conductor-Data": "data",
}


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


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
    lines.append(f"Conductor-Time: {format_time(event.time)}")
    if event.data:
        data = json.dumps(event.data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        lines.append(f"Conductor-Data: {data}")
    return "\n".join(lines) + "\n"


def decode(message: str, *, commit: str | None = None, ref: str | None = None) -> Event:
    """Parse an event message; a message that is not one raises LedgerFormatError."""
    summary_line, _, rest = message.partition("\n")
    fields: dict[str, str] = {}
    for line in rest.split("\n"):
        if line.startswith("Conductor-"):
            key, sep, value = line.partition(": ")
            name = _KEYS.get(key)
            if sep and name:
                fields[name] = value
    where = f"ledger commit {commit[:12]}" if commit else "ledger message"
    try:
        kind = EventType.parse(fields["type"])
        plan = fields["plan"]
        seq = int(fields["seq"])
        when = parse_time(fields["time"])
        attempt = int(fields["attempt"]) if "attempt" in fields else None
        data: dict[str, Any] = json.loads(fields["data"]) if "data" in fields else {}
    except KeyError as exc:
        raise LedgerFormatError(f"{where} is missing the {exc.args[0]} trailer") from None
    except ValueError as exc:
        raise LedgerFormatError(
            f"{where} has an unreadable trailer: {exc}",
            hint="if it was written by a newer Conductor, upgrade Conductor",
        ) from None
    if not isinstance(data, dict):
        raise LedgerFormatError(f"{where}: Conductor-Data is not a JSON object")
    summary = summary_line.partition(": ")[2] or summary_line
    return Event(
        type=kind,
        plan=plan,
        fork=fields.get("fork"),
        step=fields.get("step"),
        attempt=attempt,
        state=fields.get("state"),
        summary=summary,
        data=data,
        seq=seq,
        time=when,
        commit=commit,
        ref=ref,
    )
