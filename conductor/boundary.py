"""The one error boundary of the CLI: turns every outcome into an exit code and a message.

0 ok, 1 a ConductorError (or a failed plan), 2 a usage error, 3 a bug (with a crash log),
130 Ctrl-C. Tracebacks are printed only with --verbose; a bug always writes one to the log.
Under `--json` a failure is also one JSON document on stdout, `{"error": {"message", "hint",
"code", "exit_code", …}}`, so a script reads every outcome from stdout (the text still goes to
stderr for the person watching).
An error can quote what an agent wrote (a file name, a worker's ref): everything printed here
is cleaned first (conductor.terminal).
"""

from __future__ import annotations

import datetime as dt
import io
import json
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
    document: Callable[[str], None] | None = None,
) -> int:
    """Call `func` and map whatever happens to an exit code, printing through `echo`, cleaned;
    with `document` (the command line asked for --json), a failure is also written through it
    as one JSON document."""
    import click

    def say(message: str) -> None:
        echo(clean(message, marked=styled(sys.stderr)))

    def failed(code: int, error: dict[str, object]) -> int:
        if document is not None:
            document(json.dumps({"error": {**error, "exit_code": code}}, indent=2, ensure_ascii=False))
        return code

    def plain(code: int, kind: str, message: str, hint: str | None = None) -> dict[str, object]:
        return {"message": message, "hint": hint, "code": kind, "exit_code": code}

    try:
        return func() or EXIT_OK
    except ConductorError as exc:
        if verbose():
            say(traceback.format_exc().rstrip())
        say(f"error: {exc.diagnostics()}")
        return failed(exc.exit_code, exc.to_json())
    except (click.exceptions.Abort, KeyboardInterrupt):
        say("Interrupted.")
        return failed(EXIT_INTERRUPTED, plain(EXIT_INTERRUPTED, "interrupted", "Interrupted."))
    except click.ClickException as exc:
        shown = _Captured()  # click quotes what was typed (a pasted step name, say)
        exc.show(file=shown)
        say(shown.getvalue().rstrip("\n"))
        kind = "usage" if isinstance(exc, click.UsageError) else "error"
        return failed(exc.exit_code, plain(exc.exit_code, kind, exc.format_message()))
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
        message = f"internal error ({type(exc).__name__}: {exc}). This is a bug in Conductor."
        say(f"error: {message}\n{where} Please include it when reporting the problem.")
        hint = "include the crash report when reporting the problem"
        return failed(EXIT_BUG, {**plain(EXIT_BUG, "internal", message, hint), "crash_log": log and str(log)})


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
