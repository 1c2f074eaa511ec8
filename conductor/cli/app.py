"""The `conductor` group: global options (-C, -v, -V) and the main help."""

from __future__ import annotations

import os

import click

from conductor import __version__


class _State:
    verbose = False


STATE = _State()

MAIN_HELP = """\
Conductor orchestrates AI coding agents inside a git repository.

It plans work, hands each step to an executor through task files, checks every result
against .conductor/policy.yaml, and records every transition as commits on refs/conductor/*,
so `git log` is the audit trail.

\b
Examples:
  conductor demo                     see the whole loop in a throwaway project
  conductor init my-project          create a new project
  conductor status                   plans and forks with their states
  conductor events --limit 20        the latest events
  conductor policy                   the effective policy and where each value comes from
  conductor verify                   check every accepted step's provenance
"""


@click.group(help=MAIN_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    metavar="PATH",
    type=click.Path(file_okay=False),
    help="Run as if conductor was started in PATH (like git -C).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(__version__, "-V", "--version", prog_name="conductor")
def cli(directory: str | None, verbose: bool) -> None:
    STATE.verbose = verbose
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            raise click.BadParameter(
                f"cannot change to {directory}: {exc.strerror}", param_hint="-C"
            ) from None
