"""The confinement of one step: where the processes Conductor starts for it may write, and how
each is launched — inside bubblewrap, or (the fallback) under a subreaper that leaves nothing
running behind it. docs/security.md says what each mode stops and what it does not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import OVERRIDE_VARIABLE
from conductor.sandbox import bwrap, gitview, reaper

SHELL = "/bin/sh"


class SandboxError(ConductorError):
    """The policy asks for a sandbox this machine cannot give."""


STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Confinement:
    """The rules for the processes of one step."""

    workspace: Path  # the step's worktree: read-write
    repo_root: Path  # the user's checkout, .git included: hidden under bubblewrap
    git_dir: Path  # the repository's (common) git directory
    isolated: bool  # bubblewrap; False: the fallback (a subreaper, and fingerprint.py)
    network: bool = True
    exposed: tuple[Path, ...] = field(default=())  # read-only inside the checkout (a venv on PATH)
    env: tuple[tuple[str, str], ...] = field(default=())  # the policy's workspace.env, resolved
    scratch: Path | None = None  # where each process's private directory goes (default: the temp dir)
    hidden: tuple[Path, ...] = field(default=())  # more to hide: other worktrees, other steps' scratch


@dataclass
class Launch:
    """One process to start: its argv and environment, and where its private files are."""

    argv: list[str]
    env: dict[str, str]
    scratch: Path | None  # the private directory (bubblewrap only), removed afterwards
    isolated: bool


def exposed_paths(
    repo_root: Path, environ: Mapping[str, str], policy: Sequence[str] = ()
) -> tuple[Path, ...]:
    """What the checkout holds that commands need: an activated virtualenv, PATH entries, and
    what the policy's `sandbox.expose` names (relative: in the checkout)."""
    found: list[Path] = [
        path if path.is_absolute() else repo_root / path
        for path in (Path(os.path.expanduser(entry)) for entry in policy)
    ]
    candidates = [environ.get("VIRTUAL_ENV", ""), *environ.get("PATH", "").split(os.pathsep)]
    for entry in filter(None, candidates):
        path = Path(entry)
        if not path.is_absolute() or not path.resolve().is_relative_to(repo_root):
            continue
        path = path.resolve()
        if path.name == "bin" and (path.parent / "pyvenv.cfg").exists():
            path = path.parent  # a virtualenv: its bin/ links into lib/
        if path not in found:
            found.append(path)
    return tuple(found)


@contextlib.contextmanager
def launch(
    confinement: Confinement,
    command: str,
    *,
    env: Mapping[str, str],
    writable: Sequence[Path] = (),
) -> Iterator[Launch]:
    """`command` (a shell command) ready to start under `confinement`; `writable` are more
    paths it may write (the command executor's result directory)."""
    env = {**env, **dict(confinement.env)}
    env.pop(OVERRIDE_VARIABLE, None)  # a person's pass through the guard is never an agent's
    if not confinement.isolated:
        yield Launch(reaper.argv([SHELL, "-c", command]), env, None, isolated=False)
        return
    parent = confinement.scratch or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep(parent)
    scratch = Path(tempfile.mkdtemp(prefix="step-", dir=parent))
    try:
        dot_git = gitview.prepare(scratch, worktree=confinement.workspace, git_dir=confinement.git_dir)
        temp = scratch / "tmp"
        temp.mkdir()
        mounts = bwrap.Mounts(
            hidden=[confinement.repo_root, *(p for p in confinement.hidden if p.is_dir())],
            readable=[confinement.git_dir / "objects", *confinement.exposed],
            writable=[confinement.workspace, scratch, *writable],
            files=[(dot_git, confinement.workspace / ".git")],
            network=confinement.network,
        )
        argv = bwrap.command([SHELL, "-c", command], mounts, cwd=confinement.workspace)
        yield Launch(argv, {**env, "TMPDIR": str(temp)}, scratch, isolated=True)
    finally:
        discard(scratch)


DISCARDED = ".discarded"


def discard(path: Path) -> None:
    """Remove a private directory the command is done with, off the step's path: it is renamed
    away at once, and removed in the background (an agent's home can hold thousands of files).
    What a process that ended meanwhile left is swept by the next one."""
    trash = path.with_name(path.name + DISCARDED)
    try:
        path.rename(trash)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
        return
    threading.Thread(target=shutil.rmtree, args=(trash,), kwargs={"ignore_errors": True}, daemon=True).start()


_swept: set[Path] = set()


def _sweep(parent: Path) -> None:
    """Once per process and directory: remove what earlier processes discarded but left."""
    if parent in _swept:
        return
    _swept.add(parent)
    for left in parent.glob(f"*{DISCARDED}"):
        sweeper = threading.Thread(target=shutil.rmtree, args=(left,), kwargs={"ignore_errors": True})
        sweeper.daemon = True
        sweeper.start()


def stop(proc: subprocess.Popen[bytes], *, isolated: bool) -> None:
    """End a launched process and everything it started. Under bubblewrap, killing its group
    ends the PID namespace; the fallback's subreaper first gets SIGTERM, to kill what escaped
    its group, then the group goes."""
    if not isolated and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE_SECONDS)
    kill_group(proc.pid)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; "
    "Arch: pacman -S bubblewrap) where user namespaces are allowed, or set sandbox.mode: auto in "
    ".conductor/policy.yaml to run with the fallback checks (docs/security.md)"
)
_said = threading.Event()


def isolate(mode: str) -> bool:
    """Whether to use bubblewrap under a policy's `sandbox.mode`: `off` never, `auto` when it
    can run here, `required` or else a SandboxError before anything runs."""
    if mode == "off":
        return False
    reason = bwrap.unavailable()
    if reason is None:
        return True
    if mode == "required":
        raise SandboxError(
            f"the policy requires a sandbox (sandbox.mode: required), but {reason}", hint=INSTALL_HINT
        )
    return False


def fallback_note() -> str | None:
    """What to tell the user, once per process, when `auto` runs without bubblewrap."""
    reason = bwrap.unavailable()
    if reason is None or _said.is_set():
        return None
    _said.set()
    return (
        f"no sandbox: {reason}; commands run unconfined, and each step is checked for changes to"
        " your checkout and .git afterwards (see docs/security.md)"
    )
