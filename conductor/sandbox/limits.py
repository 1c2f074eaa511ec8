"""Resource limits of the processes Conductor starts for a step (policy `limits:`): memory,
processes, file size, CPU time — set as rlimits on each process before it starts, inherited by
everything it starts, in the sandbox and without it. (Wall time is `timeout_seconds`.)

They are set by util-linux's `prlimit`, which then runs the command in its place; where there
is no `prlimit`, by the child itself before it starts the command (a `preexec_fn`: Python must
then fork the whole of Conductor instead of spawning, a few milliseconds per process).

rlimits are per process, except the process count, which the kernel counts per user and does
not enforce for root. docs/security.md says what each limit stops and how a step that hits one
is told.
"""

from __future__ import annotations

import functools
import re
import resource
import shutil
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def shown_size(size: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if size >= UNITS[unit] and size % UNITS[unit] == 0:
            return f"{size // UNITS[unit]} {unit}iB"
    return f"{size} bytes"


@dataclass(frozen=True)
class Limits:
    memory: int | None = None  # bytes of data (heap, anonymous memory) a process may have
    processes: int | None = None  # processes of the user, counted by the kernel
    file_size: int | None = None  # the largest file a process may write, bytes
    cpu_seconds: int | None = None  # CPU time of a process

    def rlimits(self) -> list[tuple[int, int]]:
        pairs = [
            (resource.RLIMIT_DATA, self.memory),
            (resource.RLIMIT_NPROC, self.processes),
            (resource.RLIMIT_FSIZE, self.file_size),
            (resource.RLIMIT_CPU, self.cpu_seconds),
        ]
        return [(which, value) for which, value in pairs if value is not None]

    def settings(self) -> list[tuple[int, int, int]]:
        """(resource, soft, hard) for each limit set: never above what Conductor itself may use.
        CPU: SIGXCPU at the soft limit (which says why), SIGKILL a second later."""
        found = []
        for which, value in self.rlimits():
            _soft, hard = resource.getrlimit(which)
            wanted = value + 1 if which == resource.RLIMIT_CPU else value
            ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            found.append((which, min(value, ceiling), ceiling))
        return found

    def wrap(self, argv: Sequence[str]) -> tuple[list[str], Callable[[], None] | None]:
        """`argv` under these limits: preceded by `prlimit`, or (without it) with the function
        the child runs before it starts the command."""
        settings = self.settings()
        if not settings:
            return list(argv), None
        program = _prlimit()
        if program is not None:
            flags = [f"--{PRLIMIT_FLAGS[which]}={soft}:{hard}" for which, soft, hard in settings]
            return [program, *flags, "--", *argv], None

        def apply() -> None:
            for which, soft, hard in settings:
                resource.setrlimit(which, (soft, hard))

        return list(argv), apply

    def describe(self) -> str:
        parts = []
        if self.memory is not None:
            parts.append(f"memory {shown_size(self.memory)}")
        if self.processes is not None:
            parts.append(f"{self.processes} processes")
        if self.file_size is not None:
            parts.append(f"files up to {shown_size(self.file_size)}")
        if self.cpu_seconds is not None:
            parts.append(f"{self.cpu_seconds} s of CPU")
        return ", ".join(parts) + " (rlimits)" if parts else "none"


PRLIMIT_FLAGS = {
    resource.RLIMIT_DATA: "data",
    resource.RLIMIT_NPROC: "nproc",
    resource.RLIMIT_FSIZE: "fsize",
    resource.RLIMIT_CPU: "cpu",
}


@functools.cache
def _prlimit() -> str | None:
    return shutil.which("prlimit", path="/usr/bin:/bin:/usr/sbin:/sbin")


OUT_OF_MEMORY = re.compile(
    r"MemoryError|Cannot allocate memory|std::bad_alloc|JavaScript heap out of memory|out of memory",
    re.IGNORECASE,
)
NO_PROCESS = re.compile(r"Resource temporarily unavailable|can't fork|fork: retry", re.IGNORECASE)


def hit(exit_code: int | None, output: str, limits: Limits) -> str | None:
    """Which limit a command that failed seems to have hit, in words; None when none did."""
    if exit_code is None or exit_code == 0:
        return None
    died_of = -exit_code if exit_code < 0 else exit_code - 128 if exit_code > 128 else 0
    if died_of == signal.SIGXCPU and limits.cpu_seconds is not None:
        return f"it hit limits.cpu_seconds ({limits.cpu_seconds} s of CPU, an rlimit)"
    too_large = "File too large" in output  # Python ignores SIGXFSZ: the write fails instead
    if (died_of == signal.SIGXFSZ or too_large) and limits.file_size is not None:
        return f"it hit limits.file_size (files up to {shown_size(limits.file_size)}, an rlimit)"
    if limits.memory is not None and OUT_OF_MEMORY.search(output):
        return f"it ran out of memory: limits.memory is {shown_size(limits.memory)} (an rlimit)"
    if limits.processes is not None and NO_PROCESS.search(output):
        return f"it could not start more processes: limits.processes is {limits.processes} (an rlimit)"
    return None
