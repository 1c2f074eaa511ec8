"""A plan's lock: one process runs a plan at a time (`plan_lock`, an exclusive flock on
`.git/conductor/locks/<plan>.lock`, released when the process ends however it ends), and
`conductor status` tells a running plan from one whose runner is gone (`runner_alive`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from conductor.errors import ConductorError

LOCK_PATIENCE_SECONDS = 0.5
"""How long a busy lock is retried: `runner_alive` probes it with a shared lock that it lets
go at once; a runner starting in that instant waits, not fails."""


def lock_path(git_dir: Path, plan: str) -> Path:
    return git_dir / "conductor" / "locks" / f"{plan}.lock"


@contextlib.contextmanager
def plan_lock(git_dir: Path, plan: str) -> Iterator[None]:
    """Hold the plan's lock; a second process running the same plan is refused, not raced."""
    path = lock_path(git_dir, plan)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        if not _try_lock(handle.fileno()):
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise ConductorError(
                f"plan {plan} is being run by {owner}",
                hint="wait for it to finish, or stop it (Ctrl-C) and run `conductor resume`",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"conductor pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock, also when the process dies


def _try_lock(fd: int) -> bool:
    deadline = time.monotonic() + LOCK_PATIENCE_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def runner_alive(git_dir: Path, plan: str) -> bool:
    """Whether a process on this machine runs the plan: it holds the plan's lock. The probe
    takes a shared lock without waiting and lets go at once; a runner starting in that
    instant waits for it (`_try_lock` retries briefly) instead of being refused. No lock file:
    nothing ever ran the plan here."""
    try:
        fd = os.open(lock_path(git_dir, plan), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
