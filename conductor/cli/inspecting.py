"""Commands that look at what was recorded: status, events, explain, verify, checkout,
compare, diff, handoff-metrics — and at what this machine has: agents."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from conductor.cli.app import cli
from conductor.cli.options import finish, json_option

if TYPE_CHECKING:
    from conductor.models.event import EventType


@cli.command(
    epilog="""\b
Examples:
  conductor status                   the newest 20 plans
  conductor status --limit 5
  conductor status --all             every plan, archived ones too (conductor archive)
  conductor status --json | jq '.[].forks[].state'

\b
It says how many older plans it left out; with --json that note goes to stderr.
"""
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    metavar="N",
    default=20,
    show_default=True,
    help="Show at most this many plans, the newest.",
)
@click.option("--all", "show_all", is_flag=True, help="Show every plan, archived ones too.")
@json_option
def status(limit: int, show_all: bool, as_json: bool) -> int:
    """Show the newest plans and their forks with their states; interrupted ones, to resume."""
    from conductor.commands import status as command

    return finish(command.run(limit=None if show_all else limit), as_json)


def _event_types(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[EventType]:
    from conductor.models.event import EventType

    try:
        return [EventType.parse(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command(
    epilog="""\b
Examples:
  conductor events                          newest first, every plan
  conductor events --plan hello-3f9a --type task.rejected
  conductor events --oldest-first --limit 10
  conductor events --json | jq -r .summary  one JSON object per line
"""
)
@click.option("--plan", help="Only events of this plan.")
@click.option("--fork", help="Only events of this fork.")
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    callback=_event_types,
    help="Only events of this type (repeatable).",
)
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many events.")
@click.option("--oldest-first", is_flag=True, help="Oldest event first (default: newest first).")
@json_option
def events(
    plan: str | None,
    fork: str | None,
    types: list[EventType],
    limit: int | None,
    oldest_first: bool,
    as_json: bool,
) -> int:
    """Show the event log across plans (JSON lines with --json)."""
    from conductor.commands import events as command

    return finish(
        command.run(plan=plan, fork=fork, types=types, limit=limit, oldest_first=oldest_first), as_json
    )


@cli.command(
    epilog="""\b
Examples:
  conductor explain step_002
  conductor explain step_001 --plan hello-3f9a --json
"""
)
@click.argument("step")
@click.option("--plan", help="The plan (default: the latest one with this step).")
@click.option("--fork", help="The fork (default: the latest one with this step).")
@json_option
def explain(step: str, plan: str | None, fork: str | None, as_json: bool) -> int:
    """Explain a step: instruction, confidence, policy, what the agent said, verdicts, evidence."""
    from conductor.commands import explain as command

    return finish(command.run(step, plan=plan, fork=fork), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor verify                                   every plan; signatures checked if present
  conductor verify hello-3f9a --fork a --json
  conductor verify hello-3f9a --issuer https://token.actions.githubusercontent.com \\
      --identity https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main

\b
Checks, offline, every accepted step: the task checksum, the records its statement names, the
code commit and its Conductor-Provenance trailer, the event chain, and the sigstore bundle;
and that each fork branch ends at its last accepted step (a commit on top fails, unless
--allow-reviewer-commits). With --identity and --issuer every step must be signed by that
identity. Without PLAN every plan is checked, newest first, each with its own summary and
one for all at the end (--json: {"ok": ..., "plans": [...]}).
Exit status: 0 when everything verifies, 1 when anything does not.
"""
)
@click.argument("plan", required=False)
@click.option("--fork", help="Only this fork (of the PLAN given).")
@click.option(
    "--identity", metavar="ID", help="The signer's identity (certificate SAN) every step must carry."
)
@click.option("--issuer", metavar="URL", help="The OIDC issuer of that identity.")
@click.option(
    "--trust-config",
    metavar="FILE",
    help="A sigstore client trust config (default: $CONDUCTOR_TRUST_CONFIG, else public Sigstore).",
)
@click.option("--require-signature", is_flag=True, help="Fail steps that are not signed.")
@click.option(
    "--allow-reviewer-commits",
    is_flag=True,
    help="Accept commits on top of a fork's last accepted step (they are listed) instead of failing.",
)
@json_option
def verify(
    plan: str | None,
    fork: str | None,
    identity: str | None,
    issuer: str | None,
    trust_config: str | None,
    require_signature: bool,
    allow_reviewer_commits: bool,
    as_json: bool,
) -> int:
    """Verify the provenance of the accepted steps of a plan, or of every plan."""
    from conductor.commands import verify as command

    if bool(identity) != bool(issuer):
        raise click.UsageError("--identity and --issuer go together")
    if fork and not plan:
        raise click.UsageError("--fork needs a PLAN: conductor verify PLAN --fork FORK")
    return finish(
        command.run(
            plan,
            fork=fork,
            identity=identity,
            issuer=issuer,
            trust_config=trust_config,
            require_signature=require_signature,
            allow_reviewer_commits=allow_reviewer_commits,
        ),
        as_json,
    )


@cli.command(
    epilog="""\b
Examples:
  conductor checkout hello-3f9a/main@step_001        the code as step_001 was accepted
  conductor checkout hello-3f9a/main@base /tmp/before the plan's starting point, in /tmp/before
  conductor checkout hello-3f9a/main --json          the branch tip

\b
The code is checked out (detached) in a new worktree, by default beside the repository;
your own checkout is not touched. Remove it with `git worktree remove DIR`, or with the plan's
other working files by `conductor clean PLAN` once the plan is finished.
"""
)
@click.argument("point", metavar="PLAN/FORK[@STEP]")
@click.argument("directory", metavar="[DIR]", required=False)
@json_option
def checkout(point: str, directory: str | None, as_json: bool) -> int:
    """Revisit a point of a plan's history: the code as a step was accepted, and its records."""
    from conductor.commands import checkout as command

    return finish(command.run(point, directory), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor compare                      the latest plan
  conductor compare hello-3f9a --json

\b
Shows the comparison recorded in the plan log when its last run ended (explore, resume,
approve), or computes it now when none is recorded or the plan has moved on since, and says
which. A plan with one fork shows that fork's summary.
"""
)
@click.argument("plan", required=False)
@json_option
def compare(plan: str | None, as_json: bool) -> int:
    """Compare a plan's forks side by side, with the one recommended."""
    from conductor.commands import compare as command

    return finish(command.run(plan), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor diff hello-3f9a/short hello-3f9a/long   from one fork to the other
  conductor diff hello-3f9a/long --stat             what the fork changed since the plan's base
  conductor diff hello-3f9a/main@step_001 hello-3f9a/main --json

\b
`git diff` of the two points (a fork's branch tip, PLAN/FORK@STEP, or @base), coloured on a
terminal; --json lists the files with their added and removed lines.
"""
)
@click.argument("left", metavar="PLAN/A")
@click.argument("right", metavar="[PLAN/B]", required=False)
@click.option("--stat", is_flag=True, help="A summary per file (git diff --stat) instead of the patch.")
@click.option(
    "--color/--no-color", default=None, help="Colour the diff (default: when stdout is a terminal)."
)
@json_option
def diff(left: str, right: str | None, stat: bool, color: bool | None, as_json: bool) -> int:
    """Show the difference between two forks, or a fork and its plan's base."""
    from conductor.commands import diff as command

    return finish(command.run(left, right, stat=stat, color=color), as_json)


@cli.command("handoff-metrics", epilog="Example:\n\n  conductor handoff-metrics --json")
@click.option("--plan", help="Only this plan.")
@click.option(
    "--recompute",
    is_flag=True,
    help="Fold every plan's events again, replacing the totals the ledger keeps (refs/conductor/metrics).",
)
@json_option
def handoff_metrics(plan: str | None, recompute: bool, as_json: bool) -> int:
    """Show executor statistics: outcomes, success rate, durations, violations, repairs, usage."""
    from conductor.commands import handoff_metrics as command

    return finish(command.run(plan=plan, again=recompute), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor agents                   every profile: installed? version, API key, where declared
  conductor agents aider --json      one profile, with its command line and scratch files

\b
A profile is how Conductor runs one CLI agent (--agent NAME): its command line, the variables it
gets (its API key; nothing else of yours), a private home, its scratch files. Add your own in
.conductor/agents.yaml (docs/agents.md).
"""
)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@json_option
def agents(names: tuple[str, ...], as_json: bool) -> int:
    """List the agent profiles, whether each CLI is installed here, and its version."""
    from conductor.commands import agents as command

    return finish(command.run(list(names)), as_json)
