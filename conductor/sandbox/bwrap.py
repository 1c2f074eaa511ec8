"""Bubblewrap (https://github.com/containers/bubblewrap): the sandbox on Linux.

The command sees the system read-only; the user's home, checkout (and with it the repository's
.git), /tmp and /run are covered by empty tmpfs mounts (conductor.sandbox.visibility), what the
command needs of them is bound back read-only, and only the step's worktree and a private
directory (its HOME and TMPDIR, and a private git directory) are bound back in, writable. It
runs in its own user, PID, IPC and UTS namespaces without capabilities and without the right
to make further user namespaces, so nothing it starts outlives it and nothing it does can
uncover what is hidden.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Mounts apply in order: the system read-only first, then a fresh /dev and /proc over it.
SYSTEM = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]


@dataclass(frozen=True)
class Mounts:
    """What a sandboxed process sees, beyond the read-only system."""

    hidden: Sequence[Path]  # covered by an empty tmpfs
    readable: Sequence[Path] = ()  # bound back in read-only (inside hidden paths)
    writable: Sequence[Path] = ()  # bound back in read-write
    files: Sequence[tuple[Path, Path]] = ()  # (source, target) bound read-only over a file
    masked: Sequence[Path] = ()  # hidden again inside what was bound back (credential locations)
    network: bool = True
    moved: Sequence[tuple[Path, Path]] = ()  # (source, target) bound read-write elsewhere: a layered worktree


@functools.cache
def unavailable() -> str | None:
    """Why bubblewrap cannot run here (not installed, no user namespaces), or None."""
    program = shutil.which("bwrap")
    if program is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [program, *_isolation(network=True), *SYSTEM, "--", "true"]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not start: {exc}"
    if proc.returncode != 0:
        return f"bubblewrap cannot create its namespaces here: {proc.stderr.strip()[:200]}"
    return None


@functools.cache
def _program() -> str:
    return shutil.which("bwrap") or "bwrap"


def _isolation(*, network: bool) -> list[str]:
    flags = [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--cap-drop",
        "ALL",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
    ]
    if not network:
        flags.append("--unshare-net")
    return flags


def command(
    argv: Sequence[str], mounts: Mounts, *, cwd: Path, seccomp: int | None = None, remap: bool = False
) -> list[str]:
    """`argv` wrapped in bubblewrap with `mounts`, started in `cwd`; `seccomp`: a file descriptor
    to read a seccomp filter from (conductor/sandbox/seccomp.py); `remap`: started as root of a
    user namespace (overlay.py's), the process runs as the user again."""
    out = [_program(), *_isolation(network=mounts.network)]
    if remap:
        out += ["--uid", str(os.getuid()), "--gid", str(os.getgid())]
    out += SYSTEM
    if seccomp is not None:
        out += ["--seccomp", str(seccomp)]
    for path in mounts.hidden:
        out += ["--tmpfs", str(path)]
    for path in mounts.readable:
        out += ["--ro-bind-try", str(path), str(path)]
    for path in mounts.writable:
        out += ["--bind", str(path), str(path)]
    for source, target in mounts.moved:
        out += ["--bind", str(source), str(target)]
    for source, target in mounts.files:
        out += ["--ro-bind", str(source), str(target)]
    for path in mounts.masked:
        out += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
    return [*out, "--chdir", str(cwd), "--", *argv]
