"""Lessons learned, kept on `refs/conductor/memory` (docs/lifecycle.md).

Every finished attempt is recorded, as a `Lesson`, under its step signature (conductor.engine.confidence):
`signatures/<key>.json` counts attempts, successes and failures by kind and keeps the newest
lessons (`recent`, KEPT of them, newest first, each with the allowed files of its step), and
`lessons/<key>/<plan>.<fork>.<step>.<attempt>.json` says what happened. Confidence reads
the counts; tasks read the recent lessons from the same file, so a task costs one read however
many lessons the signature has (memory written before `recent` existed is read from `lessons/`,
and gets its `recent` at the next lesson). Recording is idempotent: a lesson that is already
there is not recorded again (so a resumed run cannot count an attempt twice).

A signature is a shape (`./*.py` is every Python file at the root), shared by steps of plans
that have nothing to do with each other: the counts may pool them, the lessons a task carries
may not. A task carries a lesson only when it is `related` to its step — the step's own earlier
attempts, or a step whose allowed files name the same file or folder (`hello.py`, `src/**`);
a pattern every plan shares (`**`, `*.py`, `**/test_*.py`) relates nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conductor.checks.diff import AllowedFiles
from conductor.engine.confidence import WILDCARDS, History, signature_key
from conductor.ledger import refs
from conductor.ledger.message import format_time
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger, utc_now
from conductor.models.event import Event, EventType

MAX_LESSONS = 5  # lessons a task carries
KEPT = 50  # recent lessons a signature keeps to choose them from


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
    files: tuple[str, ...] = ()  # the step's allowed files: what a later step must share to learn from it


@dataclass(frozen=True)
class Asking:
    """The step a task is for: its own earlier attempts always teach it; others only when related."""

    plan: str
    fork: str
    step: str
    files: Sequence[str]

    def learns_from(self, entry: dict[str, Any]) -> bool:
        own = (entry.get("plan"), entry.get("fork"), entry.get("step")) == (self.plan, self.fork, self.step)
        files = entry.get("files")
        return own or (isinstance(files, list) and related(self.files, [str(f) for f in files]))


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

    def lessons(self, signature: str, asking: Asking) -> list[str]:
        """The most recent lessons related to the step `asking` is for, as sentences for an executor."""
        tip = self.ledger.tip(refs.MEMORY)
        if tip is None:
            return []
        key = signature_key(signature)
        raw = tip.read(f"signatures/{key}.json")
        recent = json.loads(raw).get("recent") if raw is not None else None
        if not isinstance(recent, list):
            recent = _newest(tip, key)
        return [str(item["text"]) for item in recent if asking.learns_from(item)][:MAX_LESSONS]

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
                "files": list(lesson.files),
            }
            mention = {k: entry[k] for k in ("plan", "fork", "step", "files", "text", "time")}
            counts["recent"] = [mention, *counts.get("recent", [])][:KEPT]
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
            found.append(
                {k: item[k] for k in ("plan", "fork", "step", "files") if k in item}
                | {"text": str(item["text"]), "time": str(item.get("time", ""))}
            )
    found.sort(key=lambda item: item["time"], reverse=True)
    return found[:KEPT]


def related(step: Sequence[str], lesson: Sequence[str]) -> bool:
    """Whether a lesson learned on a step allowed `lesson` concerns a step allowed `step`: they
    name a common file or folder through patterns of their own (`specific`)."""
    mine = [p.strip("/") for p in step if specific(p)]
    theirs = [p.strip("/") for p in lesson if specific(p)]
    return any(_overlap(a, b) for a in mine for b in theirs)


def specific(pattern: str) -> bool:
    """A pattern that names a file or a folder (`hello.py`, `src/**`, `src/*.py`), not one
    any plan's steps may share (`**`, `*.py`, `**/test_*.py`): its first part has no wildcard."""
    clean = pattern.strip("/")
    return bool(clean) and not WILDCARDS & set(clean.split("/")[0])


def _literal(pattern: str) -> bool:
    return not WILDCARDS & set(pattern)


def _anchor(pattern: str) -> str:
    """The folder or file a pattern starts from: its parts before the first wildcard."""
    parts = pattern.split("/")
    return "/".join(parts[: next((i for i, p in enumerate(parts) if WILDCARDS & set(p)), len(parts))])


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def _overlap(a: str, b: str) -> bool:
    """Whether two specific patterns can name a common file."""
    for one, other in ((a, b), (b, a)):
        if _literal(one) and _within(_anchor(other), one):
            return True  # the same file, or a folder holding all the other names
    if _literal(a) and _literal(b):
        return False
    if _literal(a) or _literal(b):  # a file, and a pattern over a folder above it
        path, pattern = (a, b) if _literal(a) else (b, a)
        return AllowedFiles([pattern]).allows(path)
    return _within(_anchor(a), _anchor(b)) or _within(_anchor(b), _anchor(a))  # in the same folder
