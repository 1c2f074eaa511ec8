"""Options shared by several commands, and `finish`: print a command's report, return its exit code.

Nothing here imports more than click and the executors' table (executors/registry.py, which
the --executor choices and help are read from): the objects options become (a Launch, a
SigningChoice) are built inside functions, when a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from conductor.executors import registry

if TYPE_CHECKING:
    from conductor.provenance.signing import SigningChoice
    from conductor.report import Report
    from conductor.runner.plan.launch import Launch

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def finish(result: Report, as_json: bool) -> int:
    """Print the report (JSON with --json) on stdout and return its exit code. Report.emit
    shows it through terminal.Screen: what an agent wrote is printed as text, never as control."""
    result.emit(sys.stdout, as_json=as_json)
    return result.exit_code


def with_options(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


executor_options = [
    click.option(
        "--executor",
        type=click.Choice(list(registry.KINDS)),
        help=f"Who does the steps: {registry.choices_help()}. Default: the policy's executor.agent,"
        " else llm when a model is configured; without either there is no default: name one, or give"
        " --agent, --exec or --remote.",
    ),
    click.option(
        "--agent",
        metavar="NAME",
        help="A CLI agent Conductor knows how to run: aider, claude (Claude Code), codex (Codex CLI),"
        " gemini (Gemini CLI), or one in .conductor/agents.yaml (`conductor agents` lists them)."
        " --model and --base-url are then the agent's. Default: the policy's executor.agent.",
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
        type=click.Choice(["gemini", "openai", "ollama"]),
        help=(
            "Model provider: gemini, openai (any OpenAI-compatible server) or ollama (default: from"
            " .conductor/config.yaml, or gemini when GEMINI_API_KEY is set)."
        ),
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

base_option = click.option(
    "--base",
    metavar="REF",
    help="Start the plan from this commit (a branch, tag, sha or HEAD~1) instead of HEAD.",
)

yes_option = click.option(
    "--yes",
    is_flag=True,
    help="Run every attempt without waiting for approval (LOW, or MEDIUM without verify commands).",
)
launch_options = [*executor_options, *llm_options, *signing_options, yes_option]


def signing_from(options: dict[str, Any]) -> SigningChoice:
    from conductor.provenance.signing import SigningChoice

    return SigningChoice(sign=options["sign"], oauth=options["oauth"], trust_config=options["trust_config"])


def launch_from(options: dict[str, Any]) -> Launch:
    """How to run a new plan, from the executor, model, signing and --yes options."""
    from conductor.runner.plan.launch import Launch

    return Launch(
        executor=options["executor"],
        command=options["command"],
        remote=options["remote"],
        agent=options.get("agent"),
        llm=options["llm"],
        model=options["model"],
        base_url=options["base_url"],
        base=options.get("base"),
        signing=signing_from(options),
        yes=options["yes"],
    )
