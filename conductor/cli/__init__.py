"""The `conductor` command line: parse options, call one `run` in conductor.commands, print its
report. Thin and cheap to import: command modules (and through them pygit2, pydantic, rich)
are imported inside each callback, so `conductor --help` loads click and nothing heavy.

    app.py         the group and its global options
    options.py     options several commands share; `finish` (print, exit code)
    setting_up.py  init, policy, hooks, schema, clean, archive
    running.py     build, explore, fork, resume, replay, worker, demo
    reviewing.py   approve, reject, revise, abandon, adopt, pr
    inspecting.py  status, events, explain, verify, checkout, compare, diff, handoff-metrics
    serving.py     mcp
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from conductor import boundary
from conductor.cli import inspecting, reviewing, running, serving, setting_up
from conductor.cli.app import STATE, cli

# importing them registers their commands
COMMAND_MODULES = (setting_up, running, reviewing, inspecting, serving)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    STATE.verbose = False

    def invoke() -> int | None:
        result = cli.main(args=args, prog_name="conductor", standalone_mode=False)
        return result if isinstance(result, int) else 0

    return boundary.run(
        invoke,
        argv=args,
        verbose=lambda: STATE.verbose,
        echo=lambda m: click.echo(m, err=True),
        document=click.echo if wants_json(args) else None,
    )


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (`--json` before any `--`)."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)
