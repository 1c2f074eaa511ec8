"""`python -I -S reaper.py -- COMMAND...`: run COMMAND, and when it ends (or when this process
gets SIGTERM) kill every process it left behind — also those that left its process group
and session (`setsid` daemons), which this process adopts as a child subreaper (Linux
`prctl(PR_SET_CHILD_SUBREAPER)`). The fallback when there is no sandbox.

It starts once per command, so it imports only what it needs from the standard library (no
site, no subprocess; `_signal`, not `signal`, which imports enum; no contextlib): `argv()`
gives the command line that runs it.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # not signal: it imports enum
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36
MAX_ROUNDS = 1000


def argv(command: list[str] | tuple[str, ...]) -> list[str]:
    """The command line that runs `command` under this reaper."""
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), "--", *command]


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc; empty where there is none)."""
    found: list[int] = []
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def reap_all() -> None:
    """Kill this process's children until none is left (orphans of theirs come back to us)."""
    me = os.getpid()
    for _ in range(MAX_ROUNDS):
        left = children(me)
        if not left:
            return
        for pid in left:
            _kill(pid)
        for pid in left:
            try:  # noqa: SIM105 (contextlib would slow the start)
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _kill(pid: int) -> None:
    try:  # noqa: SIM105 (contextlib would slow the start)
        os.kill(pid, _signal.SIGKILL)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    args = list(argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -I -S reaper.py -- COMMAND...", file=sys.stderr)
        return 2
    become_subreaper()
    try:
        child = os.posix_spawnp(args[0], args, os.environ)
    except OSError as exc:
        print(f"{args[0]}: {exc.strerror}", file=sys.stderr)
        return 127

    def stop(signum: int, frame: object) -> None:
        _kill(child)

    _signal.signal(_signal.SIGTERM, stop)
    _, status = os.waitpid(child, 0)
    reap_all()
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
