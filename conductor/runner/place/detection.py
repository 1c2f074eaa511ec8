"""What an executor changed in the worktree, found in time proportional to the change.

A `Watcher` (inotify through the watchfiles library) follows the worktree while a fork
runs; draining it after the executor returns gives the paths it touched. Draining is exact:
a sentinel file is created and removed, and events are read until the sentinel's arrive, so
every earlier event has been seen (the kernel queues them in order). Where no watcher can
run (not Linux, the library missing, a queue overflow) or the watcher started after the
attempt began (a resume), `git status` finds the candidates instead: slower on big
repositories, same result.

`read_changes()` then reads the candidates from disk into tree entries, applying git's rules:
.gitignore for new files, `.git` never, nested repositories refused. It looks at each file's size
before it reads it (`os.lstat`: a sparse file counts by its apparent size), so a file over
`behavior.max_file_bytes`, or a change over `behavior.max_change_bytes`, is named and never read:
what Conductor holds in memory for a step is bounded, whatever an executor wrote.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.ledger.code import Found
from conductor.ledger.store import Ledger
from conductor.ledger.tree import Entry
from conductor.models.defaults import MAX_CHANGE_BYTES, MAX_FILE_BYTES
from conductor.models.paths import unstorable_reason
from conductor.runner.place import workspace

DRAIN_SECONDS = 10.0
WAIT_MS = 5
"""How long one poll of the watcher waits for events before it returns none: the first poll,
which sets up the watches, always waits that long, and a drain polls until its sentinel's
events arrive, so a short wait costs nothing and a long one is paid by every fork."""
SENTINEL = ".conductor-sentinel-"


class Watcher:
    """Paths changed under `root` since the last drain (Linux inotify via watchfiles)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._events: Iterator[set[tuple[Any, str]]] | None = None
        try:
            import watchfiles

            self._events = watchfiles.watch(
                root,
                watch_filter=None,
                debounce=1,
                step=1,
                rust_timeout=WAIT_MS,
                yield_on_timeout=True,
                ignore_permission_denied=True,
                raise_interrupt=False,
            )
            # The generator sets up the inotify watches on first use: do that now, before any
            # executor writes, and discard whatever that first poll returns.
            next(self._events)
        except Exception:
            self.close()

    @property
    def active(self) -> bool:
        return self._events is not None

    def drain(self) -> set[str] | None:
        """Repository-relative paths changed since the last drain; None if unknown."""
        if self._events is None:
            return None
        token = f"{SENTINEL}{uuid.uuid4().hex}"
        sentinel = self.root / token
        try:
            sentinel.write_bytes(b"")
            sentinel.unlink()
        except OSError:
            return None
        seen: set[str] = set()
        deadline = time.monotonic() + DRAIN_SECONDS
        try:
            while time.monotonic() < deadline:
                batch = next(self._events)
                seen.update(path for _, path in batch)
                if str(sentinel) in seen:
                    break
            else:
                return None
        except (StopIteration, RuntimeError, OSError):
            self.close()
            return None
        out = set()
        for path in seen:
            try:
                rel = Path(path).relative_to(self.root).as_posix()
            except ValueError:
                continue
            if rel != "." and not rel.startswith(SENTINEL):
                out.add(rel)
        return out

    def close(self) -> None:
        events, self._events = self._events, None
        if events is not None and hasattr(events, "close"):
            with contextlib.suppress(Exception):
                events.close()


def from_status(worktree: Path) -> set[str]:
    """Candidates the slow way: every path `git status` reports (both sides of renames)."""
    out = git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], cwd=worktree)
    paths = set()
    for item in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(item) > 3:
            paths.add(item[3:].rstrip("/"))
    return paths


@dataclass(frozen=True)
class Limits:
    """How much of a change Conductor reads: behavior.max_file_bytes, behavior.max_change_bytes."""

    file_bytes: int = MAX_FILE_BYTES
    change_bytes: int = MAX_CHANGE_BYTES


@dataclass
class ChangedFiles:
    """The worktree's state at the candidate paths, as tree entries (None: deleted)."""

    files: dict[str, Entry | None] = field(default_factory=dict)
    nested_repos: list[str] = field(default_factory=list)
    git_paths: list[str] = field(default_factory=list)
    unstorable: list[str] = field(default_factory=list)  # names git cannot store as they are
    limits: Limits = field(default_factory=Limits)
    oversized: dict[str, int] = field(default_factory=dict)  # over limits.file_bytes, unread: path -> size
    unread_bytes: int = 0  # the change's files together, when over limits.change_bytes (then none is read)
    unreadable: dict[str, str] = field(default_factory=dict)  # files Conductor may not read: path -> why


READ_CHUNK = 1 << 20


def _open(full: Path) -> int:
    """A descriptor for reading the regular file at `full`. Not through a symlink and never
    blocking: the file may have been swapped for a link or a FIFO since it was looked at."""
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.ENOENT, "not a regular file any more", str(full))
    return fd


def _read(full: Path, limit: int) -> bytes | int:
    """The content of the file at `full`, or its size when it is over `limit` (it grew since its
    size was looked at): never more than `limit` + 1 bytes are read."""
    fd = _open(full)
    with os.fdopen(fd, "rb") as f:
        want = min(os.fstat(fd).st_size, limit) + 1
        data = f.read(want)
        if len(data) > limit:
            return max(os.fstat(fd).st_size, len(data))
        return data


def _mode(st: os.stat_result) -> int:
    return 0o100755 if st.st_mode & 0o111 else 0o100644


def _same_blob(full: Path, st: os.stat_result, found: Found) -> bool:
    """Whether the file at `full` is the blob `found` (a big tracked file the executor touched but
    did not change): hashed as git does, streaming, only when the sizes already agree."""
    if found.kind != "blob" or found.size != st.st_size or found.mode != _mode(st):
        return False
    digest = hashlib.sha1(f"blob {st.st_size}\0".encode())
    read = 0
    fd = _open(full)
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            read += len(chunk)
            if read > st.st_size:
                return False
            digest.update(chunk)
    return read == st.st_size and digest.hexdigest() == found.oid


def _walk(root: Path, rel: str, snap: ChangedFiles) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(root / rel):
        base = Path(dirpath).relative_to(root).as_posix()
        if ".git" in dirnames or ".git" in filenames:
            snap.nested_repos.append(base)
            dirnames.clear()
            continue
        for name in filenames:
            yield f"{base}/{name}"
        for name in list(dirnames):
            if (Path(dirpath) / name).is_symlink():
                yield f"{base}/{name}"


NO_SUCH_PATH = {errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP}


Ignored = Callable[[list[str]], list[str]]
"""Which of these new paths .gitignore leaves out."""


def read_changes(
    root: Path,
    ledger: Ledger,
    base: str,
    candidates: Iterable[str],
    *,
    limits: Limits | None = None,
    rules: tuple[list[str], pathspec.GitIgnoreSpec | None, Ignored] | None = None,
) -> ChangedFiles:
    """Read `candidates` from the worktree at `root`, against the fork tip `base`. Sizes first:
    files over `limits.file_bytes` go to `oversized` unread, and when the rest together are over
    `limits.change_bytes` none of them is read (`unread_bytes`). `rules`: the workspace's own
    paths, the executor's scratch and the .gitignore check, where `root` is not a worktree that
    says them itself (a layer)."""
    limits = limits or Limits()
    snap = ChangedFiles(limits=limits)
    new_files: list[str] = []
    regular: dict[str, tuple[os.stat_result, str]] = {}  # files to read: path -> (lstat, kind at base)
    # the workspace's own files are never a change, nor the executor's new scratch files (an
    # agent's chat history)
    prepared, scratch, ignored = rules or (
        workspace.prepared_paths(root),
        workspace.scratch(root),
        lambda paths: _ignored(root, paths),
    )
    paths = sorted(p for p in set(candidates) if not (prepared and workspace.is_prepared(p, prepared)))
    queue = list(paths)
    while queue:
        rel = queue.pop()
        parts = rel.split("/")
        if ".git" in parts:
            snap.git_paths.append(rel)
            continue
        full = root / rel
        found = ledger.find(base, rel)  # never the blob itself: a big tracked file stays unread
        kind = found.kind
        if kind == "none" and scratch is not None and scratch.match_file(rel):
            continue
        try:
            st = os.lstat(full)
        except OSError as exc:
            # no such file — also where a path an executor reported cannot exist: a file for
            # a directory, a name too long, a loop of symlinks
            if exc.errno not in NO_SUCH_PATH:
                raise
            if kind != "none":
                snap.files[rel] = None
            continue
        if stat.S_ISDIR(st.st_mode):
            if kind == "blob":
                snap.files[rel] = None  # a directory replaced a file
            for tracked in ledger.files_under(base, rel) if kind == "tree" else []:
                if not os.path.lexists(root / tracked):
                    snap.files[tracked] = None
            queue.extend(_walk(root, rel, snap))
            continue
        if stat.S_ISLNK(st.st_mode):
            snap.files[rel] = (0o120000, os.readlink(full).encode("utf-8", "surrogateescape"))
        elif not stat.S_ISREG(st.st_mode):
            continue  # sockets, fifos: git does not store them either
        elif st.st_size > limits.file_bytes:
            try:
                unchanged = _same_blob(full, st, found)
            except OSError:
                unchanged = False  # changed since, or unreadable: over the limit all the same
            if not unchanged:
                snap.oversized[rel] = st.st_size
        else:
            regular[rel] = (st, kind)
        if kind == "none":
            new_files.append(rel)
    for path in ignored(new_files) if new_files else []:
        snap.files.pop(path, None)
        snap.oversized.pop(path, None)
        regular.pop(path, None)
    for path in [p for p in (*snap.files, *regular, *snap.oversized) if unstorable_reason(p)]:
        snap.files.pop(path, None)
        regular.pop(path, None)
        snap.oversized.pop(path, None)
        snap.unstorable.append(path)
    total = sum(st.st_size for st, _ in regular.values())
    if total > limits.change_bytes:
        snap.unread_bytes = total
        return snap
    _read_regular(root, regular, snap)
    return snap


def _read_regular(root: Path, regular: dict[str, tuple[os.stat_result, str]], snap: ChangedFiles) -> None:
    """Read the files whose sizes passed into tree entries; one that grew past a limit since is
    left unread."""
    limits, total = snap.limits, 0
    for rel, (st, kind) in sorted(regular.items()):
        try:
            data = _read(root / rel, limits.file_bytes)
        except OSError as exc:  # gone since, no longer a regular file, or not ours to read
            if exc.errno not in NO_SUCH_PATH:
                snap.unreadable[rel] = exc.strerror or str(exc)
            elif kind != "none":
                snap.files[rel] = None
            continue
        if isinstance(data, int):
            snap.oversized[rel] = data
            continue
        total += len(data)
        if total > limits.change_bytes:
            snap.unread_bytes = total
            for path in regular:
                snap.files.pop(path, None)
            return
        snap.files[rel] = (_mode(st), data)


def _ignored(root: Path, paths: list[str]) -> list[str]:
    """The new paths that .gitignore (and info/exclude, core.excludesFile) leaves out."""
    if not paths:
        return []
    try:
        out = git(
            ["check-ignore", "--no-index", "-z", "--stdin"],
            cwd=root,
            stdin="\0".join(paths).encode("utf-8", "surrogateescape"),
        )
    except ConductorError:  # exit 1: nothing is ignored
        return []
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def restore(root: Path, files: dict[str, Entry | None]) -> None:
    """Write `files` into the worktree (None: remove), e.g. to undo what verify commands did."""
    for rel, entry in files.items():
        full = root / rel
        if entry is None:
            if full.is_dir() and not full.is_symlink():
                import shutil

                shutil.rmtree(full, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    full.unlink()
            continue
        mode, data = entry
        full.parent.mkdir(parents=True, exist_ok=True)
        if full.is_dir() and not full.is_symlink():
            import shutil

            shutil.rmtree(full)
        elif os.path.lexists(full):
            full.unlink()
        if mode == 0o120000:
            os.symlink(data.decode("utf-8", "surrogateescape"), full)
        else:
            full.write_bytes(data)
            os.chmod(full, 0o755 if mode == 0o100755 else 0o644)
