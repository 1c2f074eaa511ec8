"""Layered workspaces: a fork's files as an overlay of read-only layers (a shared checkout of a
base commit, the fork's delta from it) and a writable upper directory of the attempt's own —
mounted only for a sandboxed process, in a user and mount namespace of its own, then seen by
the process through bubblewrap at the fork's usual worktree path (docs/storage.md, Worktrees).

Bubblewrap 0.8 has no overlay options, so the launch is prefixed by util-linux's `unshare`: it
makes the namespaces (the user mapped to root there, which lets the kernel mount an overlay
with `userxattr`), a shell mounts the layers, and `exec`s bubblewrap in place, which maps the
user back (`--uid`/`--gid`) and binds the merged directory where the worktree would be. The
process started is the one that runs bubblewrap, so the limits, the process group, the reaper
and `--die-with-parent` hold as without layers.

A deletion in a layer is a whiteout (a 0/0 character device), an opaque directory hides what
the layers below hold under it (`user.overlay.opaque`), as the kernel writes them in the upper
directory.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

OPAQUE = "user.overlay.opaque"
MOUNT = (
    'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,userxattr" "$4" && shift 4 && exec "$@"'
)
UNSAFE = (",", ":", "\\", "\n")  # what the mount options cannot carry in a path


@dataclass(frozen=True)
class Overlay:
    """One mount: `lowers` (topmost first) under `upper`, seen at `target` by the process."""

    lowers: tuple[Path, ...]
    upper: Path
    work: Path  # the kernel's work directory: empty, on the upper's file system
    merged: Path  # where it is mounted, in the namespace only
    target: Path  # where bubblewrap shows it: the fork's worktree path

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """`argv` (a bubblewrap command line) run with the overlay mounted."""
        lowers = ":".join(str(p) for p in self.lowers)
        mount = [str(p) for p in (self.upper, self.work, self.merged)]
        return [
            _unshare(),
            "--user",
            "--map-root-user",
            "--mount",
            "/bin/sh",
            "-c",
            MOUNT,
            "sh",
            lowers,
            *mount,
            *argv,
        ]


def usable_path(path: Path) -> bool:
    """Whether the mount options can name `path` (no ',' ':' or '\\' in it)."""
    return not any(mark in str(path) for mark in UNSAFE)


@functools.cache
def _unshare() -> str:
    return shutil.which("unshare") or "unshare"


@functools.cache
def unavailable(place: Path) -> str | None:
    """Why layers cannot be mounted for files under `place` here (not Linux, no util-linux
    `unshare`, the kernel refuses an overlay or a whiteout), or None. Probed once per process
    and place, by mounting two small layers there."""
    if not sys.platform.startswith("linux"):
        return "layered workspaces need Linux (overlayfs in a user namespace)"
    if shutil.which("unshare") is None:
        return "util-linux `unshare` is not installed"
    if not usable_path(place):
        return f"the path {place} has a ',' ':' or '\\' in it, which an overlay mount cannot name"
    place.mkdir(parents=True, exist_ok=True)
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=place))
    try:
        for name in ("lower", "upper", "work", "merged"):
            (probe / name).mkdir()
        (probe / "lower" / "kept").write_bytes(b"")
        try:
            whiteout(probe / "lower" / "gone")
        except OSError as exc:
            return f"the kernel refuses an overlay whiteout: {exc.strerror}"
        layer = Overlay((probe / "lower",), probe / "upper", probe / "work", probe / "merged", probe)
        check = 'test -e "$0/kept" && ! test -e "$0/gone" && rm "$0/kept"'
        argv = layer.wrap(["/bin/sh", "-c", check, str(probe / "merged")])
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"an overlay cannot be mounted here: {exc}"
        if proc.returncode != 0 or not is_whiteout(probe / "upper" / "kept"):
            return f"an overlay cannot be mounted here: {proc.stderr.strip()[:200] or 'it did not work'}"
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def whiteout(path: Path) -> None:
    """Mark `path` deleted in a layer (Linux >= 5.8 lets any user make a 0/0 character device)."""
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


def is_whiteout(path: Path | str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)


def is_opaque(path: Path | str) -> bool:
    """A directory of a layer that hides what the layers below hold under it."""
    with contextlib.suppress(OSError):
        return os.getxattr(path, OPAQUE, follow_symlinks=False) == b"y"
    return False


@dataclass(frozen=True)
class Layers:
    """A layered worktree as one launch mounts it: `below`, read-only (topmost first: the fork's
    delta, the base checkout), under the attempt's `upper`. `throwaway` (verify commands): the
    attempt's upper is read-only too, and what the process writes goes to a fresh upper that is
    thrown away with its private directory."""

    below: tuple[Path, ...]
    upper: Path
    throwaway: bool = False

    def overlay(self, place: Path, target: Path) -> Overlay:
        """The mount for one process, its directories in `place` (beside its private directory,
        on the upper's file system, never shown to it), seen at `target`."""
        for name in ("upper", "work", "merged"):
            (place / name).mkdir(parents=True)
        if self.throwaway:
            return Overlay(
                (self.upper, *self.below), place / "upper", place / "work", place / "merged", target
            )
        return Overlay(self.below, self.upper, place / "work", place / "merged", target)


def release(place: Path) -> None:
    """Let a launch's directories go: the kernel leaves its work directory unreadable (mode 0)."""
    with contextlib.suppress(OSError):
        os.chmod(place / "work" / "work", 0o700)
