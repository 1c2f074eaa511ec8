"""The base checkout: one read-only checkout of a commit per repository, shared by every layered
worktree (layered.py) as its lowest layer, in Conductor's state directory beside worktrees/.

It is made once, at the commit of the first plan that needs it, with the git CLI and an index
file of its own — not a registered worktree, so `git worktree list` stays the user's: `read-tree
-u --reset` checks the files out exactly as a worktree would get them (filters, .gitattributes),
and its index, whose stat data matches the files as an overlay shows them, is the start of
every layered fork's index. Forks see it through their layers and never write to it.

A process whose forks use it holds it (a shared lock, until the process ends). When a new fork's
tip is MOVES_AFTER paths or more away from it and no process holds it, it moves to that tip
(`read-tree -m -u`: O(the difference)), so that the deltas of the forks made after stay small
as the repository's history grows; a fork made before rebuilds its delta against it when next
used (layered.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from conductor.gitcli import git

BASE = "base"
COMMIT = "commit"  # beside the files: the commit they are
USERS = "base.users"  # beside it: held shared by each process whose forks use it
MOVES_AFTER = 100
"""How many paths from a new fork's tip the base moves there (when no process holds it)."""
WHOLE = ("-c", "core.splitIndex=false", "-c", "index.version=2")
"""Its index as the sandbox's git copies it as it is (gitview): whole, version 2 — also in a big
repository whose feature.manyFiles would make it version 4."""

_held: dict[Path, IO[str]] = {}
_holding = threading.Lock()


@dataclass(frozen=True)
class Base:
    root: Path  # <state>/base: files/, index, commit

    @property
    def files(self) -> Path:
        return self.root / "files"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def commit(self) -> str:
        return (self.root / COMMIT).read_text(encoding="ascii").strip()


def find(private: Path) -> Base | None:
    """The repository's base checkout, if it was made."""
    root = private / BASE
    return Base(root) if (root / COMMIT).is_file() else None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure(private: Path, *, repo_root: Path, git_dir: Path, commit: str) -> Base:
    """The base checkout, made at `commit` if there is none yet (once: O(files), the first
    layered fork in a repository pays it; every other uses it as it is)."""
    found = find(private)
    if found is not None:
        return found
    with _locked(private / f"{BASE}.lock"):  # parallel forks of a first plan make it once
        found = find(private)
        if found is not None:
            return found
        making = private / f"{BASE}.new-{os.getpid()}"
        shutil.rmtree(making, ignore_errors=True)
        (making / "files").mkdir(parents=True)
        env = {"GIT_DIR": str(git_dir), "GIT_INDEX_FILE": str(making / "index")}
        work = [*WHOLE, "--work-tree", str(making / "files")]
        git([*work, "read-tree", "-u", "--reset", commit], cwd=repo_root, env=env)
        # Entries written in the index's last clock tick were marked racily clean: stat them again
        # now, so that the agent's git (and Conductor's) never hashes the whole checkout.
        git([*work, "update-index", "-q", "--refresh"], cwd=repo_root, env=env)
        # where the sandbox binds its private git's `.git` file: a mount point in the lowest layer
        (making / "files" / ".git").write_bytes(b"")
        (making / COMMIT).write_text(commit + "\n", encoding="ascii")
        shutil.rmtree(private / BASE, ignore_errors=True)  # one a crash left half made
        os.replace(making, private / BASE)
        return Base(private / BASE)


def hold(private: Path) -> None:
    """Hold the base for this process (shared; until it ends): no other process moves it while
    this one's forks mount it."""
    with _holding:
        if private not in _held:
            handle = (private / USERS).open("a")
            fcntl.flock(handle, fcntl.LOCK_SH)
            _held[private] = handle


def move(private: Path, *, repo_root: Path, git_dir: Path, commit: str) -> Base | None:
    """Move the base to `commit` if no process holds it (this one included) — O(the difference)
    — and hold it then; None when it is in use."""
    with _holding:
        found = find(private)
        if private in _held or found is None:
            return None
        handle = (private / USERS).open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        try:
            env = {"GIT_DIR": str(git_dir), "GIT_INDEX_FILE": str(found.index)}
            work = [*WHOLE, "--work-tree", str(found.files)]
            git([*work, "read-tree", "-m", "-u", found.commit, commit], cwd=repo_root, env=env)
            git([*work, "update-index", "-q", "--refresh"], cwd=repo_root, env=env)
            (found.root / f"{COMMIT}.new").write_text(commit + "\n", encoding="ascii")
            os.replace(found.root / f"{COMMIT}.new", found.root / COMMIT)
        finally:
            fcntl.flock(handle, fcntl.LOCK_SH)  # held from now on, as hold() would
            _held[private] = handle
        return Base(found.root)
