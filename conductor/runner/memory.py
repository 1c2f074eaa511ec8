"""Lessons learned, kept on `refs/conductor/memory` (docs/lifecycle.md).

Every finished attempt is recorded, as a `Lesson`, under its step signature (conductor.engine.confidence):
`signatures/<key>.json` counts attempts, successes and failures by kind and keeps the newest
lessons (`recent`, MAX_LESSONS of them, newest first), and
`lessons/<key>/<plan>.<fork>.<step>.<attempt>.json` says what happened. Confidence reads
the counts; tasks read the recent lessons from the same file, so a task costs one read however
many lessons the signature has (memory written before `recent` existed is read from `lessons/`,
and gets its `recent` at the next lesson). Recording is idempotent: a lesson that is already
there is not recorded again (so a resumed run cannot count an attempt twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conductor.engine.confidence import History, signature_key
from conductor.ledger import refs
from conductor.ledger.message import format_time
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger, utc_now
from conductor.models.event import Event, EventType

MAX_LESSONS = 5


@dataclass(frozen=True)
class Lesson:
    plan: str
    fork: str
    step: str
    attempt: int
    signature: str
    title: str
    succeeded: bool
    kind: str = ""  # failure kind
    reason: str = ""
    hint: str = ""


class Memory:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def history(self, signature: str) -> History:
        tip = self.ledger.tip(refs.MEMORY)
        raw = tip.read(f"signatures/{signature_key(signature)}.json") if tip else None
        if raw is None:
            return History(signature)
        data = json.loads(raw)
        return History(
            signature,
            attempts=int(data.get("attempts", 0)),
            successes=int(data.get("successes", 0)),
            failures={str(k): int(v) for k, v in data.get("failures", {}).items()},
        )

    def lessons(self, signature: str) -> list[str]:
        """The most recent lessons for steps like this one, as sentences for an executor."""
        tip = self.ledger.tip(refs.MEMORY)
        if tip is None:
            return []
        key = signature_key(signature)
        raw = tip.read(f"signatures/{key}.json")
        recent = json.loads(raw).get("recent") if raw is not None else None
        if not isinstance(recent, list):
            recent = _newest(tip, key)
        return [str(item["text"]) for item in recent[:MAX_LESSONS]]

    def record(self, lesson: Lesson) -> Event | None:
        key = signature_key(lesson.signature)
        lesson_path = f"lessons/{key}/{lesson.plan}.{lesson.fork}.{lesson.step}.{lesson.attempt}.json"
        if lesson.succeeded:
            text = f"'{lesson.title}' ({lesson.step}, attempt {lesson.attempt}) succeeded"
            if lesson.attempt > 1:
                text += " after a repair"
        else:
            text = f"'{lesson.title}' ({lesson.step}, attempt {lesson.attempt}) failed: {lesson.reason}"
            if lesson.hint:
                text += f" (recovery: {lesson.hint})"

        def change(snapshot: Snapshot | None) -> dict[str, bytes | str | None] | None:
            if snapshot is not None and snapshot.exists(lesson_path):
                return None  # already recorded (a resumed run)
            counts: dict[str, Any] = {
                "signature": lesson.signature,
                "attempts": 0,
                "successes": 0,
                "failures": {},
            }
            raw = snapshot.read(f"signatures/{key}.json") if snapshot else None
            if raw is not None:
                counts = json.loads(raw)
            if not isinstance(counts.get("recent"), list) and snapshot is not None:
                counts["recent"] = _newest(snapshot, key)  # memory from before `recent`
            counts["attempts"] += 1
            if lesson.succeeded:
                counts["successes"] += 1
            else:
                counts["failures"][lesson.kind] = counts["failures"].get(lesson.kind, 0) + 1
            entry = {
                "plan": lesson.plan,
                "fork": lesson.fork,
                "step": lesson.step,
                "attempt": lesson.attempt,
                "succeeded": lesson.succeeded,
                "kind": lesson.kind,
                "text": text,
                "time": format_time(utc_now()),
            }
            recent = [{"text": text, "time": entry["time"]}, *counts.get("recent", [])]
            counts["recent"] = recent[:MAX_LESSONS]
            return {
                f"signatures/{key}.json": json.dumps(counts, indent=2, sort_keys=True) + "\n",
                lesson_path: json.dumps(entry, indent=2, sort_keys=True) + "\n",
            }

        event = Event(
            EventType.LESSON_RECORDED,
            plan=lesson.plan,
            fork=lesson.fork,
            step=lesson.step,
            attempt=lesson.attempt,
            summary=text,
            data={"signature": lesson.signature, "succeeded": lesson.succeeded, "kind": lesson.kind},
        )
        return self.ledger.append_once(refs.MEMORY, event, change)


def _newest(snapshot: Snapshot, key: str) -> list[dict[str, Any]]:
    """The newest lessons of a signature read one by one from `lessons/<key>/` (memory
    written before the counts kept them), newest first."""
    folder = f"lessons/{key}"
    found = []
    for name in snapshot.listdir(folder):
        raw = snapshot.read(f"{folder}/{name}")
        if raw is not None:
            item = json.loads(raw)
            found.append({"text": str(item["text"]), "time": str(item.get("time", ""))})
    found.sort(key=lambda item: item["time"], reverse=True)
    return found[:MAX_LESSONS]
