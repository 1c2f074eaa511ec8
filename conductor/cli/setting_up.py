"""Commands that set a repository up: init, policy, hooks, schema, clean."""

from __future__ import annotations

import click

from conductor.cli.app import cli
from conductor.cli.options import finish, json_option


@cli.command(
    epilog="""\b
Examples:
  conductor init my-project     new directory, git init, default policy, first commit
  conductor init                set up Conductor in the current repository (idempotent)
"""
)
@click.argument("name", required=False)
@json_option
def init(name: str | None, as_json: bool) -> int:
    """Create a project NAME, or set up Conductor in the current repository."""
    from conductor.commands import init as command

    return finish(command.run(name), as_json)


@cli.group(
    invoke_without_command=True,
    epilog="""\b
Examples:
  conductor policy                      merged policy with the origin of each value
  conductor policy --json
  conductor policy check                validate .conductor/policy.yaml
  conductor policy check other.yaml
""",
)
@json_option
@click.pass_context
def policy(ctx: click.Context, as_json: bool) -> int:
    """Show the effective policy, with where each value comes from."""
    if ctx.invoked_subcommand is not None:
        return 0
    from conductor.commands import policy as command

    return finish(command.run(), as_json)


@policy.command("check")
@click.argument("file", required=False)
@json_option
def policy_check(file: str | None, as_json: bool) -> int:
    """Validate a policy file (default: .conductor/policy.yaml); exit 1 if invalid."""
    from conductor.commands import policy_check as command

    return finish(command.run(file), as_json)


@cli.group()
def hooks() -> None:
    """Install or remove Conductor's git hooks."""


@hooks.command(
    "install",
    epilog="""\b
Examples:
  conductor hooks install              pre-commit guard for protected files, and the commit-msg
                                       hook that records CONDUCTOR_OVERRIDE='why' in the commit
  conductor hooks install --pre-push   also verify provenance of conductor/* branches before a push
  conductor hooks install --force      replace a hook Conductor did not write (kept as a backup)
""",
)
@click.option("--pre-push", is_flag=True, help="Also install the pre-push provenance check.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace a hook Conductor did not write (it is kept as <hook>.pre-conductor).",
)
@json_option
def hooks_install(pre_push: bool, force: bool, as_json: bool) -> int:
    """Install the pre-commit guard, its commit-msg hook (and the pre-push check) into the hooks directory."""
    from conductor.commands import hooks as command

    return finish(command.run("install", pre_push=pre_push, force=force), as_json)


@hooks.command("uninstall")
@json_option
def hooks_uninstall(as_json: bool) -> int:
    """Remove Conductor's hooks, restoring any hook they replaced."""
    from conductor.commands import hooks as command

    return finish(command.run("uninstall"), as_json)


@hooks.command(
    "pre-push",
    epilog="""\b
git runs it with the remote's name and URL, and one line per pushed ref on stdin
(`<local ref> <local sha> <remote ref> <remote sha>`). Exit 1 refuses the push.
""",
)
@click.argument("remote", required=False)
@click.argument("url", required=False)
@json_option
def hooks_pre_push(remote: str | None, url: str | None, as_json: bool) -> int:
    """The pre-push check itself (what the hook runs): verify every conductor/* branch pushed."""
    import sys

    from conductor.commands import prepush as command

    return finish(command.run(sys.stdin, remote=remote), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor schema task > task.schema.json
  conductor schema policy
  conductor schema output status    what `conductor status --json` prints (docs/json.md)
  conductor schema output policy-check
"""
)
@click.argument("name", type=click.Choice(["task", "result", "policy", "plan", "config", "agents", "output"]))
@click.argument("command", metavar="[COMMAND]", required=False)
def schema(name: str, command: str | None) -> int:
    """Print the JSON Schema of a task, result, policy, plan, config or agents file, or (output
    COMMAND) of what a command prints with --json."""
    from conductor.commands import schema as module

    if (name == module.OUTPUT) != (command is not None) or (command and command not in module.COMMANDS):
        wanted = f"one of: {', '.join(module.COMMANDS)}" if name == module.OUTPUT else "nothing after it"
        raise click.BadParameter(f"{name} takes {wanted}", param_hint="COMMAND")
    return finish(module.run(name, command), as_json=True)


@cli.command(
    epilog="""\b
Examples:
  conductor clean                 every finished plan
  conductor clean hello-3f9a

\b
Removes each finished plan's fork worktrees, its mailbox, the local copies of its work-queue
refs, and the worktrees `conductor checkout` made of its points; a checkout with changes of
yours is kept and named. The plan's history, records and branches stay.
"""
)
@click.argument("plan", required=False)
@json_option
def clean(plan: str | None, as_json: bool) -> int:
    """Remove worktrees and mailboxes of finished plans, and their checkouts (history stays)."""
    from conductor.commands import clean as command

    return finish(command.run(plan), as_json)


def _age(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from conductor.commands.archive import age_problem

    problem = age_problem(value)
    if problem is not None:
        raise click.BadParameter(problem)
    return value


@cli.command(
    epilog="""\b
Examples:
  conductor archive                    plans finished a week ago or more
  conductor archive --older-than 12h --dry-run
  conductor archive --older-than 0     every finished plan
  git push origin 'refs/conductor/*:refs/conductor/*' '^refs/conductor/metrics'
                                       share the archive (the metrics are a local cache)

\b
Folds the logs of finished plans (completed, failed, abandoned; never running or halted
ones) into one ref, refs/conductor/archive, and removes their live refs, so the refs to list
and fetch follow running work, not history. Nothing is lost: the archive keeps every commit
reachable, and status --all, explain, verify, checkout, events --plan, compare, diff, replay
and fork --from read archived plans as before. The branches conductor/<plan>/<fork> are yours
and stay. See docs/storage.md, Archive, for pruning the removed refs on a remote.
"""
)
@click.option(
    "--older-than",
    metavar="AGE",
    default="7d",
    show_default=True,
    callback=_age,
    help="Only plans whose last event is at least this old: 30m, 12h, 7d, 2w, or 0.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be archived; change nothing.")
@json_option
def archive(older_than: str, dry_run: bool, as_json: bool) -> int:
    """Fold finished plans' logs into one archive ref (they stay readable)."""
    from conductor.commands import archive as command

    return finish(command.run(older_than=older_than, dry_run=dry_run), as_json)
