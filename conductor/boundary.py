"""The one error boundary of the CLI: turns every outcome into an exit code and a message.

0 ok, 1 a ConductorError (or a failed plan), 2 a usage error, 3 a bug (with a crash log),
130 Ctrl-C. Tracebacks are printed only with --verbose; a bug always writes one to the log.
An error can quote what an agent wrote (a file name, a worker's ref): everything printed here
is cleaned first (conductor.terminal).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import platform
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from conductor import __version__
from conductor.errors import ConductorError
from conductor.terminal import clean, styled

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


def crash_dir() -> Path:
    """Where crash logs go: $XDG_CACHE_HOME/conductor (or ~/.cache/conductor)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "conductor"


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """Write a crash report for a bug and return its path (None if it cannot be written)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = crash_dir() / f"crash-{stamp}.log"
    report = (
        f"conductor {__version__} crashed\n"
        f"command: conductor {' '.join(argv)}\n"
        f"python: {sys.version.split()[0]} on {platform.platform()}\n"
        f"cwd: {os.getcwd()}\n\n" + "".join(traceback.format_exception(exc))
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report, encoding="utf-8")
    except OSError:
        return None
    return path


def run(
    func: Callable[[], int | None],
    *,
    argv: list[str],
    verbose: Callable[[], bool],
    echo: Callable[[str], None],
) -> int:
    """Call `func` and map whatever happens to an exit code, printing through `echo`, cleaned."""
    import click

    def say(message: str) -> None:
        echo(clean(message, marked=styled(sys.stderr)))

    try:
        return func() or EXIT_OK
    except ConductorError as exc:
        if verbose():
            say(traceback.format_exc().rstrip())
        say(f"error: {exc.diagnostics()}")
        return exc.exit_code
    except click.exceptions.Abort:
        say("Interrupted.")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        say("Interrupted.")
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        shown = _Captured()  # click quotes what was typed (a pasted step name, say)
        exc.show(file=shown)
        say(shown.getvalue().rstrip("\n"))
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        # `conductor events | head`: the reader went away; that is not an error.
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        log = write_crash_log(exc, argv)
        if verbose():
            say(traceback.format_exc().rstrip())
        where = f"A crash report was written to {log}." if log else "No crash report could be written."
        say(
            f"error: internal error ({type(exc).__name__}: {exc}). This is a bug in Conductor.\n"
            f"{where} Please include it when reporting the problem."
        )
        return EXIT_BUG


class _Captured(io.StringIO):
    """Click's message, kept whole for `clean` to show: as a terminal, click strips nothing."""

    def isatty(self) -> bool:
        return True


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
