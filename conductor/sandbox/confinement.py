"""The confinement of one step: where the processes Conductor starts for it may write, and how
each is launched — inside bubblewrap, or (the fallback) under a subreaper that leaves nothing
running behind it. docs/security.md says what each mode stops and what it does not.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conductor import resources
from conductor.errors import ConductorError
from conductor.gitcli import OVERRIDE_VARIABLE
from conductor.sandbox import bwrap, gitview, overlay, reaper, seccomp, visibility
from conductor.sandbox.environment import Allowlist
from conductor.sandbox.limits import Limits
from conductor.sandbox.proxy import PROXY_PORT, Proxy, Rule, loopback

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
    network: bool | tuple[str, ...] = True  # all, none, or these hosts (through the proxy)
    exposed: tuple[Path, ...] = field(default=())  # read-only inside the checkout (a venv on PATH)
    env: tuple[tuple[str, str], ...] = field(default=())  # the policy's workspace.env, resolved
    env_names: tuple[str, ...] = field(default=())  # the policy's sandbox.env: more that passes
    limits: Limits = field(default_factory=Limits)  # the policy's limits, set on each process
    scratch: Path | None = None  # where each process's private directory goes (default: the temp dir)
    hidden: tuple[Path, ...] = field(default=())  # more to hide: other worktrees, other steps' scratch
    unix_sockets: bool = False  # with the network shared: may its commands make unix sockets
    layers: overlay.Layers | None = None  # a layered worktree (bubblewrap only): mounted at `workspace`
    git_admin: Path | None = None  # its HEAD, index and scratch patterns, when `workspace` has no .git


@dataclass
class Launch:
    """One process to start: its argv and environment, and where its private files are."""

    argv: list[str]
    env: dict[str, str]
    scratch: Path | None  # the private directory (bubblewrap only), removed afterwards
    isolated: bool
    preexec: Callable[[], None] | None = None  # run in the child before it starts: the limits
    blocked: list[str] = field(default_factory=list)  # host:port the network allowlist refused
    fds: tuple[int, ...] = ()  # file descriptors to pass on to it (Popen's pass_fds)

    def options(self) -> dict[str, Any]:
        """What `subprocess.Popen`/`run` needs beside the argv to start it confined: its
        environment, the limits and the descriptors (the seccomp filter) — one place, so no caller
        forgets one."""
        return {"env": self.env, "preexec_fn": self.preexec, "pass_fds": self.fds}


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


def allowlist(confinement: Confinement, inherit: Sequence[str] = ()) -> Allowlist:
    """What passes of Conductor's environment to the step's commands (sandbox/environment.py)."""
    return Allowlist(named=confinement.env_names, extra=inherit)


@contextlib.contextmanager
def launch(
    confinement: Confinement,
    command: str,
    *,
    env: Mapping[str, str],
    inherit: Sequence[str] = (),
    writable: Sequence[Path] = (),
    trusted_command: bool = False,
) -> Iterator[Launch]:
    """`command` (a shell command) ready to start under `confinement`: with the variables of
    Conductor's environment the allowlist passes (`inherit`: exact names an agent profile
    lists), then `env`, then the policy's workspace.env. `writable` are more paths it may write
    (the command executor's result directory). Under bubblewrap it gets a home of its own, and
    with `trusted_command` (the user's own: --exec, an agent profile's; not a plan's verify
    command) the files its command line names are shown read-only."""
    env = {**allowlist(confinement, inherit).apply(os.environ), **env, **dict(confinement.env)}
    env.pop(OVERRIDE_VARIABLE, None)  # a person's pass through the guard is never an agent's
    if not confinement.isolated and confinement.layers is not None:
        raise SandboxError("a layered worktree is mounted by the sandbox, which is off for this step")
    if not confinement.isolated:
        # no sandbox, no home of its own: it runs as you, in yours (docs/security.md)
        yours = {"HOME": os.environ["HOME"]} if "HOME" in os.environ else {}
        argv, preexec = confinement.limits.wrap(reaper.argv([SHELL, "-c", command]))
        yield Launch(argv, {**yours, **env}, None, isolated=False, preexec=preexec)
        return
    parent = confinement.scratch or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep(parent)
    scratch = Path(tempfile.mkdtemp(prefix="step-", dir=parent))
    layers, layered = scratch.with_name(scratch.name + "-layers"), None  # never shown to the process
    try:
        dot_git = gitview.prepare(
            scratch, worktree=confinement.workspace, git_dir=confinement.git_dir, admin=confinement.git_admin
        )
        layered = confinement.layers.overlay(layers, confinement.workspace) if confinement.layers else None
        temp, home = scratch / "tmp", scratch / "home"
        temp.mkdir()
        for sub in ("", ".config", ".cache", ".local/share", ".local/state"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        host = visibility.hidden_places(os.environ)
        shown = visibility.needed(
            environ=os.environ,
            command=command if trusted_command else None,
            hidden=host,
            checkout=confinement.repo_root,
        )
        readable = [confinement.git_dir / "objects", *confinement.exposed, *shown]
        mounts = bwrap.Mounts(
            hidden=[*host, confinement.repo_root, *(p for p in confinement.hidden if p.is_dir())],
            readable=readable,
            writable=[*([confinement.workspace] if layered is None else []), scratch, *writable],
            files=[(dot_git, confinement.workspace / ".git")],
            masked=visibility.credentials(os.environ, within=readable),
            network=confinement.network is True,
            moved=[(layered.merged, layered.target)] if layered is not None else [],
        )
        proxy: Proxy | None = None
        network: dict[str, str] = {}
        if isinstance(confinement.network, tuple):
            proxy, command, network = _allowlist_network(scratch, confinement.network, command)
            mounts = replace(mounts, writable=[*mounts.writable, proxy.socket_path.parent])
        unix_filter = _unix_filter(confinement)
        fds = (unix_filter,) if unix_filter is not None else ()
        argv = bwrap.command(
            [SHELL, "-c", command],
            mounts,
            cwd=confinement.workspace,
            seccomp=unix_filter,
            remap=layered is not None,
        )
        argv, preexec = confinement.limits.wrap(layered.wrap(argv) if layered is not None else argv)
        private = {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_STATE_HOME": str(home / ".local/state"),
            "TMPDIR": str(temp),
        }
        try:
            yield Launch(
                argv,
                {**env, **private, **network},
                scratch,
                isolated=True,
                preexec=preexec,
                blocked=proxy.blocked if proxy is not None else [],
                fds=fds,
            )
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if proxy is not None:
                proxy.close()
                shutil.rmtree(proxy.socket_path.parent, ignore_errors=True)
    finally:
        discard(scratch)
        if layered is not None:
            overlay.release(layers)
            discard(layers)


def _unix_filter(confinement: Confinement) -> int | None:
    """With the machine's network shared, the host's abstract unix sockets are reachable: a
    seccomp filter keeps commands from making unix sockets (unless the policy lets them)."""
    if confinement.network is not True or confinement.unix_sockets:
        return None
    program = seccomp.program()
    return seccomp.readable(program) if program is not None else None


def _allowlist_network(
    scratch: Path, hosts: Sequence[str], command: str
) -> tuple[Proxy, str, dict[str, str]]:
    """A proxy for `hosts`, and `command` preceded by the bridge that leads to it from inside the
    sandbox's own network namespace; the variables that point clients at it."""
    rules = [Rule.parse(host) for host in hosts]
    # a unix socket's path is at most 107 bytes: a short folder of its own, removed with the scratch
    sockets = Path(tempfile.mkdtemp(prefix="cnet-", dir="/tmp" if os.path.isdir("/tmp") else None))
    proxy = Proxy(rules, sockets / "p.sock").start()
    bridge = scratch / "bridge.py"
    shutil.copyfile(resources.path("sandbox/bridge.py"), bridge)
    ports = " ".join(str(port) for port in loopback(rules))
    start = (
        f"{shlex.quote(sys.executable)} -I -S {shlex.quote(str(bridge))}"
        f" {shlex.quote(str(proxy.socket_path))} {PROXY_PORT} {ports} </dev/null >/dev/null 2>&1\n"
    )
    url = f"http://127.0.0.1:{PROXY_PORT}"
    variables = {
        name: url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")
    }
    variables.update(NO_PROXY="localhost,127.0.0.1,::1", no_proxy="localhost,127.0.0.1,::1")
    return proxy, start + command, variables


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
