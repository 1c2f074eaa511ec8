"""The handoff mailbox: `.conductor/handoff/`, where executors meet Conductor (docs/protocol.md).

    .conductor/handoff/
    ├── PROTOCOL.md                  how an external agent takes part
    ├── metrics.json                 execution statistics (projection)
    └── plan_<id>/fork_<id>/
        ├── pending/ in_progress/ completed/ failed/
        │   (+ step_NNN.result.json.rejected-N / .stale-N: results refused, kept as evidence,
        │    and step_NNN.result.problems.txt: why the last one was refused)
        └── audit.log                one JSON line per event (projection of the fork log)

The ledger is the source of truth; everything here can be deleted and is rebuilt from it.
Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from conductor.models import untrusted
from conductor.models.defaults import MAX_RESULT_BYTES
from conductor.models.event import Event
from conductor.models.layout import (
    DIRS,
    EXPLANATION,
    FILED,
    IN_PROGRESS,
    PENDING,
    PROBLEMS,
    RESULT,
    RESULT_DIRS,
    TASK,
    WORKER,
)

PROTOCOL_FILE = "PROTOCOL.md"
METRICS_FILE = "metrics.json"
AUDIT_LOG = "audit.log"


def plan_folder(handoff: Path, plan: str) -> Path:
    """A plan's part of the mailbox: `plan_<id>/`, one `fork_<id>/` per fork inside."""
    return handoff / f"plan_{plan}"


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write through a fresh temporary file (O_EXCL, unpredictable name: never a file or link
    planted in its place), then rename it over `path` (a link there is replaced, not followed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _open_append(path: Path) -> int:
    """Open our own log for appending; a link planted in its place is removed, never followed."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        os.unlink(path)
        return os.open(path, flags | os.O_EXCL, 0o644)


DEFAULT_LIMIT = MAX_RESULT_BYTES
"""The largest result file a caller with no policy at hand reads: behavior.max_result_bytes's default."""
CEILING = 64 * 1024 * 1024
"""The most read_regular reads when its caller names no limit of its own (a file brought back
from the sandbox before the policy's limit is applied to it)."""

UnsafeFile = untrusted.UntrustedError
"""A file an executor left that Conductor will not read: not a regular file, or too big."""


def read_regular(path: Path, *, limit: int = CEILING) -> bytes:
    """The bytes of a regular file — never through a symlink (it could point anywhere), never a
    FIFO or device — of at most `limit` bytes, through the one bounded reader
    (models/untrusted.py). FileNotFoundError when there is none."""
    return untrusted.read_file(path, limit=limit, setting="behavior.max_result_bytes")


def _bytes_or_none(path: Path, *, limit: int) -> bytes | None:
    try:
        return read_regular(path, limit=limit)
    except (OSError, UnsafeFile):
        return None


@dataclass(frozen=True)
class Found:
    """Result files an executor left for a step."""

    directory: str  # completed or failed
    result: bytes
    explanation: str
    problem: str | None = None  # why the files cannot be taken as they are (then both are empty)
    kept_as: str | None = None  # once refused: where the result file was set aside (`completed/…`)

    def name(self, step: str) -> str:
        """The result file as the mailbox names it: `completed/step_001.result.json`."""
        return f"{self.directory}/{step}{RESULT}"


class Mailbox:
    """One fork's handoff directory."""

    def __init__(self, handoff: Path, plan: str, fork: str) -> None:
        self.handoff = handoff
        self.plan, self.fork = plan, fork
        self.root = plan_folder(handoff, plan) / f"fork_{fork}"

    def ensure(self) -> None:
        for name in DIRS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        ignore = self.handoff / ".gitignore"
        if not ignore.exists():  # the mailbox is invisible to git even without `conductor init`
            write_atomic(ignore, "# Conductor's mailbox: rebuilt from the ledger, never committed.\n*\n")

    def path(self, directory: str, step: str, suffix: str) -> Path:
        return self.root / directory / f"{step}{suffix}"

    def where_is_task(self, step: str) -> Path | None:
        for directory in DIRS:
            candidate = self.path(directory, step, TASK)
            if candidate.exists():
                return candidate
        return None

    def clear_step(self, step: str) -> None:
        """Remove every file of `step` (before a new attempt is handed out). Each name is
        removed where it is, without listing the directories: `completed/` grows with the fork."""
        names = [f"{step}{suffix}" for suffix in (*FILED, WORKER, PROBLEMS)]
        for directory in DIRS:
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    (self.root / directory / name).unlink()

    def hand_out(self, step: str, task_json: str) -> Path:
        self.ensure()
        self.clear_step(step)
        target = self.path(PENDING, step, TASK)
        write_atomic(target, task_json)
        return target

    def claim(self, step: str) -> Path | None:
        """Claim a pending task by atomic rename; None if somebody else got it first."""
        source = self.path(PENDING, step, TASK)
        target = self.path(IN_PROGRESS, step, TASK)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(source, target)
        except FileNotFoundError:
            return None
        return target

    def find_result(self, step: str, *, limit: int = DEFAULT_LIMIT) -> Found | None:
        """The result an executor wrote for `step`, if one is there. A result or explanation
        that is a symlink, not a regular file, or over `limit` bytes is found with a problem."""
        for directory in RESULT_DIRS:
            result = self.path(directory, step, RESULT)
            if not os.path.lexists(result):
                continue
            try:
                data = read_regular(result, limit=limit)
            except FileNotFoundError:
                continue  # it vanished between looking and reading
            except UnsafeFile as exc:
                return Found(directory, b"", "", problem=str(exc))
            try:
                explanation = read_regular(self.path(directory, step, EXPLANATION), limit=limit)
            except FileNotFoundError:
                explanation = b""
            except UnsafeFile as exc:
                return Found(directory, b"", "", problem=str(exc))
            return Found(directory, data, explanation.decode("utf-8", errors="replace"))
        return None

    def set_aside(self, step: str, found: Found, label: str, *, explanation: bool = False) -> Found | None:
        """Rename the result file of `found` (and its explanation, with `explanation`) to
        `step_NNN.result.json.<label>-<n>`, kept as evidence, and return `found` saying where.
        None when the file changed since it was read (the executor wrote a new one meanwhile:
        that one is left in place, to be read afresh)."""
        folder = self.root / found.directory
        taken = re.compile(re.escape(f"{step}{RESULT}.{label}-") + r"(\d+)")
        numbers = [int(m.group(1)) for m in map(taken.fullmatch, os.listdir(folder)) if m is not None]
        suffix = f".{label}-{max(numbers, default=0) + 1}"
        source = self.path(found.directory, step, RESULT)
        target = source.with_name(source.name + suffix)
        try:
            os.rename(source, target)
        except FileNotFoundError:
            return None
        if found.problem is None and _bytes_or_none(target, limit=len(found.result)) != found.result:
            if not os.path.lexists(source):  # not what was read: put it back for the next look
                with contextlib.suppress(OSError):
                    os.rename(target, source)
            return None
        if explanation:
            with contextlib.suppress(FileNotFoundError):
                note = self.path(found.directory, step, EXPLANATION)
                os.rename(note, note.with_name(note.name + suffix))
        return replace(found, kept_as=f"{found.directory}/{target.name}")

    def write_problems(self, step: str, directory: str, text: str) -> Path:
        """`step_NNN.result.problems.txt` beside the refused result, for the agent to read."""
        target = self.path(directory, step, PROBLEMS)
        write_atomic(target, text)
        return target

    def file_step(self, step: str, directory: str, records: Mapping[str, bytes | str]) -> None:
        """Put the final records of a step in `directory` (completed or failed)."""
        self.ensure()
        self.clear_step(step)
        for suffix, data in records.items():
            write_atomic(self.path(directory, step, suffix), data)

    def append_audit(self, event: Event) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with os.fdopen(_open_append(self.root / AUDIT_LOG), "a", encoding="utf-8") as log:
            log.write(json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n")

    def write_audit(self, events: list[Event]) -> None:
        lines = "".join(
            json.dumps(e.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n" for e in events
        )
        write_atomic(self.root / AUDIT_LOG, lines)
