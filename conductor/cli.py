"""The `conductor` command line: parse options, call one function in conductor.commands, print.

Kept thin and cheap to import: command modules (and through them pygit2, pydantic, rich)
are imported inside each callback, so `conductor --help` loads click and nothing heavy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from conductor import __version__, boundary


class _State:
    verbose = False


STATE = _State()
F = TypeVar("F", bound=Callable[..., Any])

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


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


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
    from conductor.output import echo, emit_json

    result = command.run(name)
    if as_json:
        emit_json(result.to_json())
        return 0
    if result.created_repo:
        echo(f"Created {result.root} with {', '.join(result.written)} (commit {str(result.commit)[:12]}).")
        if result.identity_fallback:
            echo("No git identity is configured, so the first commit is by 'Conductor'.")
        echo(f"Next: cd {name} && conductor policy")
    elif result.written:
        echo(f"Set up Conductor in {result.root}: wrote {', '.join(result.written)}.")
        if result.kept:
            echo(f"Kept existing {', '.join(result.kept)}.")
        echo("Review the policy, then commit it: git add .conductor && git commit -m 'Add Conductor policy'")
    else:
        echo(f"Conductor is already set up in {result.root} (nothing changed).")
    return 0


@cli.command(
    epilog="""\b
Examples:
  conductor status
  conductor status --json | jq '.[].forks[].state'
"""
)
@json_option
def status(as_json: bool) -> int:
    """Show plans and forks with their states, from the ledger."""
    from conductor.commands import status as command
    from conductor.ledger.store import Ledger
    from conductor.output import echo, emit_json

    plans = command.collect(Ledger("."))
    if as_json:
        emit_json([p.to_json() for p in plans])
    else:
        echo(command.render(plans))
    return 0


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
    from conductor.output import echo, emit_json

    root, effective = command.show()
    if as_json:
        emit_json({"root": str(root), **effective.to_json()})
    else:
        echo(command.render(root, effective))
    return 0


@policy.command("check")
@click.argument("file", required=False)
@json_option
def policy_check(file: str | None, as_json: bool) -> int:
    """Validate a policy file (default: .conductor/policy.yaml); exit 1 if invalid."""
    from conductor.commands import policy as command
    from conductor.output import echo, emit_json

    result = command.check(file)
    if as_json:
        emit_json(result)
    else:
        echo(f"{result['file']}: valid")
    return 0


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
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Only events of this type (repeatable).")
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many events.")
@click.option("--oldest-first", is_flag=True, help="Oldest event first (default: newest first).")
@json_option
def events(
    plan: str | None,
    fork: str | None,
    types: tuple[str, ...],
    limit: int | None,
    oldest_first: bool,
    as_json: bool,
) -> int:
    """Show the event log across plans (JSON lines with --json)."""
    from conductor.commands import events as command
    from conductor.ledger.store import Ledger

    try:
        found = command.select(
            Ledger("."), plan=plan, fork=fork, types=list(types), limit=limit, oldest_first=oldest_first
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--type") from None
    count = command.write(found, as_json=as_json)
    if count == 0 and not as_json:
        click.echo("No events match." if (plan or fork or types) else "No events yet.", err=True)
    return 0


@cli.command(
    epilog="""\b
Examples:
  conductor schema task > task.schema.json
  conductor schema policy
"""
)
@click.argument("name", type=click.Choice(["task", "result", "policy", "plan", "config"]))
def schema(name: str) -> int:
    """Print the JSON Schema of a task, result, policy, plan or config file."""
    from conductor.models.schema import schema_text

    click.echo(schema_text(name), nl=False)
    return 0


@cli.group()
def hooks() -> None:
    """Install or remove Conductor's git hooks."""


@hooks.command(
    "install",
    epilog="""\b
Examples:
  conductor hooks install              pre-commit guard for protected files
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
    """Install the pre-commit guard (and the pre-push check) into the repository's hooks directory."""
    from conductor.commands import hooks as command

    changes = command.install(["pre-commit", "pre-push"] if pre_push else ["pre-commit"], force=force)
    _print_hook_changes(changes, as_json)
    return 0


@hooks.command("uninstall")
@json_option
def hooks_uninstall(as_json: bool) -> int:
    """Remove Conductor's hooks, restoring any hook they replaced."""
    from conductor.commands import hooks as command

    _print_hook_changes(command.uninstall(["pre-commit", "pre-push"]), as_json)
    return 0


def _print_hook_changes(changes: Sequence[object], as_json: bool) -> None:
    from conductor.commands.hooks import DESCRIBE, HookChange
    from conductor.output import echo, emit_json

    items = [c for c in changes if isinstance(c, HookChange)]
    if as_json:
        emit_json([c.to_json() for c in items])
        return
    for change in items:
        echo(f"{change.hook}: {DESCRIBE[change.action]} ({change.path})")


@cli.command(
    epilog="""\b
Examples:
  conductor demo               run in a fresh temporary directory (removed afterwards)
  conductor demo --keep        keep the demo project to explore it with git
"""
)
@click.option("--keep", is_flag=True, help="Keep the demo project instead of deleting it.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Create the demo project here.")
def demo(keep: bool, directory: str | None) -> int:
    """Run Conductor end to end in a throwaway project, offline."""
    from conductor.commands import demo as command

    return command.run(keep=keep, directory=directory)


executor_options = [
    click.option(
        "--executor",
        type=click.Choice(["handoff", "command", "llm", "remote"]),
        help="Who does the steps: an external agent through the mailbox (handoff), a command"
        " Conductor runs itself (command; implied by --exec), the model (llm), or `conductor worker`s"
        " elsewhere through a git remote (remote; implied by --remote). Default: llm when a model is"
        " configured, else handoff.",
    ),
    click.option(
        "--remote",
        metavar="NAME",
        help="The remote executor's git remote: workers on other machines claim the steps from it.",
    ),
    click.option(
        "--exec",
        "command",
        metavar="CMD",
        help="The command executor's command, run in the fork's worktree for every task with the"
        " instruction on stdin and CONDUCTOR_TASK_FILE, CONDUCTOR_WORKSPACE, CONDUCTOR_RESULT_DIR set.",
    ),
]


llm_options = [
    click.option(
        "--llm",
        type=click.Choice(["gemini", "openai"]),
        help="Model provider (default: from .conductor/config.yaml, or gemini when GEMINI_API_KEY is set).",
    ),
    click.option("--model", help="Model name (gemini default: gemini-3.8-flash)."),
    click.option(
        "--base-url", metavar="URL", help="Model API address, e.g. http://localhost:11434/v1 (Ollama)."
    ),
]


signing_options = [
    click.option(
        "--sign/--no-sign",
        default=None,
        help="Sign each step's provenance with sigstore, or never (default: policy provenance.sign).",
    ),
    click.option("--oauth", is_flag=True, help="Sign in with a browser when no identity token is found."),
    click.option(
        "--trust-config",
        metavar="FILE",
        help="A sigstore client trust config (default: $CONDUCTOR_TRUST_CONFIG, else public Sigstore).",
    ),
]


yes_option = click.option(
    "--yes", is_flag=True, help="Run LOW-confidence steps without waiting for approval."
)
launch_options = [*executor_options, *llm_options, *signing_options, yes_option]


def _signing(options: dict[str, Any]) -> Any:
    """A SigningChoice from the signing options."""
    from conductor.provenance.signing import SigningChoice

    return SigningChoice(sign=options["sign"], oauth=options["oauth"], trust_config=options["trust_config"])


def _launch(options: dict[str, Any]) -> Any:
    """A commands.build.Launch from the executor, model, signing and --yes options."""
    from conductor.commands.build import Launch

    return Launch(
        executor=options["executor"],
        command=options["command"],
        remote=options["remote"],
        llm=options["llm"],
        model=options["model"],
        base_url=options["base_url"],
        signing=_signing(options),
        yes=options["yes"],
    )


def _with(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def _finish(result: Any, render: Callable[[Any], str], as_json: bool) -> int:
    """Print a result (JSON, or text by `render`) and return its exit code."""
    from conductor.output import echo, emit_json

    if as_json:
        emit_json(result.to_json())
    else:
        echo(render(result))
    return int(result.exit_code)


def _finish_build(result: object, as_json: bool) -> int:
    from conductor.commands import build as command

    assert isinstance(result, command.BuildResult)
    return _finish(result, command.render, as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor build "Add a --verbose flag to cli.py"              one step, an agent picks it up
  conductor build --plan plan.yaml --exec "aider --yes-always"  a plan file, run by a CLI agent
  conductor build "Fix the typo in README.md" --exec ./agent.sh --yes

\b
Exit status: 0 when every step is accepted; 1 when the plan failed or halted
(a LOW-confidence step waits for `conductor approve`, or Ctrl-C: then `conductor resume`).
"""
)
@click.argument("goal", required=False)
@click.option(
    "--plan",
    "plan_file",
    metavar="FILE",
    help="Run the steps of this plan file (see `conductor schema plan`).",
)
@_with(launch_options)
@json_option
def build(goal: str | None, plan_file: str | None, as_json: bool, **launch: Any) -> int:
    """Run a goal or a plan file as one strategy: steps in order, each verified and committed.

    With a model configured (GEMINI_API_KEY, or --llm), the model plans the steps and does them.
    """
    from conductor.commands import build as build_command

    result = build_command.run(goal, plan_file=plan_file, launch=_launch(launch))
    return _finish_build(result, as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor explore "Create a Python CLI task manager"             3 strategies from the model
  conductor explore "Add caching" --forks 2 --model gemini-3.8-flash
  conductor explore "Speed up the parser" --strategy "memoize" --strategy "rewrite the tokenizer" \\
      --exec "aider --yes-always --no-auto-commits --message-file -"
  conductor explore --plan strategies.yaml                         forks written by hand

\b
Exit status: 0 when a fork is recommended (at least one completed), else 1.
"""
)
@click.argument("goal", required=False)
@click.option("--forks", type=click.IntRange(1, 8), help="How many strategies the model plans (default 3).")
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    metavar="TEXT",
    help="A strategy of your own (repeatable): one fork each.",
)
@click.option("--plan", "plan_file", metavar="FILE", help="A plan file with `forks:`.")
@click.option("--jobs", type=click.IntRange(1, 16), help="Forks run at once (default: up to 4).")
@click.option("--no-spawn", is_flag=True, help="Do not plan a new strategy when a fork fails.")
@_with(launch_options)
@json_option
def explore(
    goal: str | None,
    forks: int | None,
    strategies: tuple[str, ...],
    plan_file: str | None,
    jobs: int | None,
    no_spawn: bool,
    as_json: bool,
    **launch: Any,
) -> int:
    """Run several strategies in parallel, one fork branch each; compare them and recommend one."""
    from conductor.commands import explore as command_module

    result = command_module.run(
        goal,
        forks=forks,
        strategies=list(strategies),
        plan_file=plan_file,
        jobs=jobs,
        spawn=not no_spawn,
        launch=_launch(launch),
        live=False if as_json else None,
    )
    return _finish(result, command_module.render, as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor replay task-manager-3f9a            re-run from the recorded model answers
  conductor replay task-manager-3f9a --verify   exit 1 unless every step gives the same tree
"""
)
@click.argument("plan")
@click.option("--verify", is_flag=True, help="Exit 1 unless every step produced the same tree.")
@json_option
def replay(plan: str, verify: bool, as_json: bool) -> int:
    """Re-run a model-driven plan from its recordings (offline, no key) into new forks."""
    from conductor.commands import replay as command
    from conductor.output import echo, emit_json

    result = command.replay(plan)
    if as_json:
        emit_json(result.to_json())
    else:
        echo(command.render(result))
    return 1 if verify and not result.identical else 0


@cli.command(
    epilog="""\b
Examples:
  conductor checkout hello-3f9a/main@step_001        the code as step_001 was accepted
  conductor checkout hello-3f9a/main@base /tmp/before the plan's starting point, in /tmp/before
  conductor checkout hello-3f9a/main --json          the branch tip

\b
The code is checked out (detached) in a new worktree, by default beside the repository;
your own checkout is not touched. Remove it with `git worktree remove DIR`.
"""
)
@click.argument("point", metavar="PLAN/FORK[@STEP]")
@click.argument("directory", metavar="[DIR]", required=False)
@json_option
def checkout(point: str, directory: str | None, as_json: bool) -> int:
    """Revisit a point of a plan's history: the code as a step was accepted, and its records."""
    from conductor.commands import checkout as command
    from conductor.output import echo, emit_json

    result = command.checkout(point, directory)
    if as_json:
        emit_json(result.to_json())
    else:
        echo(command.render(result))
    return 0


@cli.command(
    epilog="""\b
Examples:
  conductor fork --from hello-3f9a/main@step_001 --exec "aider --yes-always"   redo the rest
  conductor fork --from hello-3f9a/main@step_002 --strategy "use sqlite" --strategy "use json"
  conductor fork --from hello-3f9a/main@base --plan other.yaml

\b
A new plan starts from the code as that step was accepted; the old plan is unchanged.
Exit status as for build: 0 when every fork completed.
"""
)
@click.option("--from", "origin", required=True, metavar="PLAN/FORK@STEP", help="The point to start from.")
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    metavar="TEXT",
    help="A new strategy from there (repeatable: one fork each). Default: the old fork's remaining steps.",
)
@click.option("--plan", "plan_file", metavar="FILE", help="Run this plan file from there instead.")
@_with(launch_options)
@json_option
def fork(
    origin: str, strategies: tuple[str, ...], plan_file: str | None, as_json: bool, **launch: Any
) -> int:
    """Start a new plan from a point of an old one (the old plan and its history stay)."""
    from conductor.commands import fork as fork_command

    result = fork_command.run(
        origin, strategies=list(strategies), plan_file=plan_file, launch=_launch(launch)
    )
    return _finish_build(result, as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor resume                      the most recent unfinished plan
  conductor resume hello-3f9a --yes
"""
)
@click.argument("plan", required=False)
@click.option("--exec", "command", metavar="CMD", help="Use this command instead of the recorded one.")
@_with([*signing_options, yes_option])
@json_option
def resume(plan: str | None, command: str | None, yes: bool, as_json: bool, **signing: Any) -> int:
    """Continue a halted or crashed plan exactly where its log ends."""
    from conductor.commands import build as build_command

    result = build_command.resume(plan, command=command, yes=yes, signing=_signing(signing))
    return _finish_build(result, as_json)


def _decision(approve: bool) -> Callable[[F], F]:
    verb = "approve" if approve else "reject"

    def wrap(func: F) -> F:
        func = click.argument("step")(func)
        func = click.option("--plan", help="The plan (default: the one where STEP waits).")(func)
        func = click.option("--fork", help="The fork (default: the one where STEP waits).")(func)
        func = click.option("--reason", default="", help="Why; recorded with the decision.")(func)
        func = click.option(
            "--no-resume", is_flag=True, help="Only record the decision; do not continue the plan."
        )(func)
        return json_option(func)

    del verb
    return wrap


def _decide(
    step: str,
    plan: str | None,
    fork: str | None,
    reason: str,
    no_resume: bool,
    as_json: bool,
    *,
    approve: bool,
) -> int:
    from conductor.commands import approve as command
    from conductor.commands import build as build_command
    from conductor.output import echo, emit_json

    waiting = command.decide(step, plan=plan, fork=fork, approve=approve, reason=reason)
    verb = "Approved" if approve else "Rejected"
    if no_resume:
        if as_json:
            emit_json({"plan": waiting.plan, "fork": waiting.fork, "step": step, "decision": verb.lower()})
        else:
            echo(f"{verb} {step} of {waiting.plan}/{waiting.fork}.")
            echo(f"Continue with: conductor resume {waiting.plan}")
        return 0
    if not as_json:
        echo(f"{verb} {step} of {waiting.plan}/{waiting.fork}; continuing the plan.")
    return _finish_build(build_command.resume(waiting.plan, command=None, yes=False), as_json)


@cli.command(epilog="Example:\n\n  conductor approve step_001 --plan hello-3f9a")
@_decision(True)
def approve(
    step: str, plan: str | None, fork: str | None, reason: str, no_resume: bool, as_json: bool
) -> int:
    """Approve a step that waits for approval (LOW confidence), then continue the plan."""
    return _decide(step, plan, fork, reason, no_resume, as_json, approve=True)


@cli.command(epilog="Example:\n\n  conductor reject step_001 --reason 'too broad; split it'")
@_decision(False)
def reject(step: str, plan: str | None, fork: str | None, reason: str, no_resume: bool, as_json: bool) -> int:
    """Reject a step that waits for approval; its fork fails."""
    return _decide(step, plan, fork, reason, no_resume, as_json, approve=False)


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
    """Explain a step: instruction, confidence, policy, each verdict and its evidence, commits."""
    from conductor.commands import explain as command
    from conductor.output import echo, emit_json

    data = command.explain(step, plan=plan, fork=fork)
    if as_json:
        emit_json(data)
    else:
        echo(command.render(data))
    return 0


@cli.command(
    epilog="""\b
Examples:
  conductor verify                                   the latest plan; signatures checked if present
  conductor verify hello-3f9a --fork a --json
  conductor verify hello-3f9a --issuer https://token.actions.githubusercontent.com \\
      --identity https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main

\b
Checks, offline, every accepted step: the task checksum, the records its statement names, the
code commit and its Conductor-Provenance trailer, the event chain, and the sigstore bundle.
With --identity and --issuer every step must be signed by that identity.
Exit status: 0 when everything verifies, 1 when anything does not.
"""
)
@click.argument("plan", required=False)
@click.option("--fork", help="Only this fork.")
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
@json_option
def verify(
    plan: str | None,
    fork: str | None,
    identity: str | None,
    issuer: str | None,
    trust_config: str | None,
    require_signature: bool,
    as_json: bool,
) -> int:
    """Verify the provenance of a plan's accepted steps."""
    from conductor.commands import verify as command

    if bool(identity) != bool(issuer):
        raise click.UsageError("--identity and --issuer go together")
    result = command.verify(
        plan,
        fork=fork,
        identity=identity,
        issuer=issuer,
        trust_config=trust_config,
        require_signature=require_signature,
    )
    return _finish(result, command.render, as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor worker --remote origin --exec "aider --yes-always --no-auto-commits --message-file -"
  conductor worker --remote origin --exec ./agent.sh --once     do what is queued now, then exit

\b
Run it in a clone of the repository on any machine that can push to the remote. The plan
itself runs elsewhere with `--remote origin` (the remote executor), which verifies and commits
each result. A task is claimed by an atomic push, so no two workers ever do the same one.
"""
)
@click.option(
    "--remote", required=True, metavar="NAME", help="The git remote the plans queue their steps on."
)
@click.option(
    "--exec",
    "command",
    required=True,
    metavar="CMD",
    help="The agent command for each task, run in the task's worktree (a relative path is relative to it).",
)
@click.option(
    "--name", metavar="NAME", help="This worker's name in claims (default: host name and a number)."
)
@click.option("--once", is_flag=True, help="Do what is queued now, then exit (default: keep polling).")
@click.option(
    "--poll",
    "poll_seconds",
    type=click.FloatRange(0.1, 3600),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between looks at the queue.",
)
@json_option
def worker(
    remote: str, command: str, name: str | None, once: bool, poll_seconds: float, as_json: bool
) -> int:
    """Do steps queued on a git remote by plans that run on other machines."""
    from conductor.commands import worker as command_module
    from conductor.output import echo, emit_json

    report = command_module.run(
        remote=remote, command=command, name=name, once=once, poll_seconds=poll_seconds
    )
    if as_json:
        emit_json(report.to_json())
    else:
        echo(
            f"{len(report.done)} task(s) done"
            + (f", {len(report.lost)} claimed by others" if report.lost else "")
        )
    return 0


@cli.command("handoff-metrics", epilog="Example:\n\n  conductor handoff-metrics --json")
@click.option("--plan", help="Only this plan.")
@json_option
def handoff_metrics(plan: str | None, as_json: bool) -> int:
    """Show executor statistics: outcomes, success rate, durations, violations, repairs, usage."""
    from conductor.ledger.store import Ledger
    from conductor.output import echo, emit_json
    from conductor.project import find_root
    from conductor.runner import metrics

    data = metrics.compute(Ledger(find_root()), plan=plan)
    if as_json:
        emit_json(data)
    else:
        echo(metrics.render(data))
    return 0


@cli.command(
    epilog="""\b
Examples:
  conductor clean                 every finished plan
  conductor clean hello-3f9a
"""
)
@click.argument("plan", required=False)
@json_option
def clean(plan: str | None, as_json: bool) -> int:
    """Remove worktrees and mailboxes of finished plans (their history stays in git)."""
    from conductor.commands import clean as command
    from conductor.output import echo, emit_json

    cleaned = command.clean(plan)
    if as_json:
        emit_json([c.to_json() for c in cleaned])
    elif not cleaned:
        echo("Nothing to clean.")
    else:
        for item in cleaned:
            echo(f"{item.plan}: removed {len(item.removed)} worktree/mailbox path(s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    STATE.verbose = False

    def invoke() -> int | None:
        result = cli.main(args=args, prog_name="conductor", standalone_mode=False)
        return result if isinstance(result, int) else 0

    return boundary.run(
        invoke, argv=args, verbose=lambda: STATE.verbose, echo=lambda m: click.echo(m, err=True)
    )
