"""What an executor changed in the worktree, found in time proportional to the change.

A `Watcher` (inotify through the watchfiles library) follows the worktree while a fork
runs; draining it after the executor returns gives the paths it touched. Draining is exact:
a sentinel file is created and removed, and events are read until the sentinel's arrive, so
every earlier event has been seen (the kernel queues them in order). Where no watcher can
run (not Linux, the library missing, a queue overflow) or the watcher started after the
attempt began (a resume), `git status` finds the candidates instead: slower on big
repositories, same result.

`read_changes()` then reads the candidates from disk into tree entries, applying git's rules:
.gitignore for new files, `.git` never, nested repositories refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.ledger.store import Ledger
from conductor.ledger.tree import Entry
from conductor.models.paths import unstorable_reason
from conductor.runner import workspace

DRAIN_SECONDS = 10.0
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
                rust_timeout=50,
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


@dataclass
class ChangedFiles:
    """The worktree's state at the candidate paths, as tree entries (None: deleted)."""

    files: dict[str, Entry | None] = field(default_factory=dict)
    nested_repos: list[str] = field(default_factory=list)
    git_paths: list[str] = field(default_factory=list)
    unstorable: list[str] = field(default_factory=list)  # names git cannot store as they are


def _entry(full: Path, st: os.stat_result) -> Entry:
    if stat.S_ISLNK(st.st_mode):
        return (0o120000, os.readlink(full).encode("utf-8", "surrogateescape"))
    mode = 0o100755 if st.st_mode & 0o111 else 0o100644
    return (mode, full.read_bytes())


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


def read_changes(root: Path, ledger: Ledger, base: str, candidates: Iterable[str]) -> ChangedFiles:
    """Read `candidates` from the worktree at `root`, against the fork tip `base`."""
    snap = ChangedFiles()
    new_files: list[str] = []
    prepared = workspace.prepared_paths(root)  # the workspace's own files: never a change
    scratch = workspace.scratch(root)  # nor the executor's new scratch files (an agent's chat history)
    paths = sorted(p for p in set(candidates) if not (prepared and workspace.is_prepared(p, prepared)))
    queue = list(paths)
    while queue:
        rel = queue.pop()
        parts = rel.split("/")
        if ".git" in parts:
            snap.git_paths.append(rel)
            continue
        full = root / rel
        kind, _ = ledger.entry(base, rel)
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
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue  # sockets, fifos: git does not store them either
        snap.files[rel] = _entry(full, st)
        if kind == "none":
            new_files.append(rel)
    for ignored in _ignored(root, new_files):
        snap.files.pop(ignored, None)
    for path in [p for p in snap.files if unstorable_reason(p)]:
        del snap.files[path]
        snap.unstorable.append(path)
    return snap


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
