"""Commands that decide what becomes of a plan's work once it ran: approve, reject, revise,
abandon, adopt, pr."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from conductor.cli.app import cli
from conductor.cli.options import (
    F,
    finish,
    json_option,
    signing_from,
    signing_options,
    with_options,
    yes_option,
)


@cli.command(
    epilog="""\b
Examples:
  conductor revise hello-3f9a/main --comment "hello.py:2: greet should strip the name"
  conductor revise hello-3f9a/main --comment "add a test for an empty name" --yes
  conductor revise hello-3f9a/main --from-pr --yes   the PR's review comments; then update the PR
"""
)
@click.argument("target", metavar="PLAN/FORK")
@click.option(
    "--comment",
    "comments",
    multiple=True,
    help="A review comment; `path:line: text` points at a line. Repeat for several.",
)
@click.option(
    "--from-pr",
    is_flag=True,
    help="Also take the review comments of the fork's open GitHub pull request; update it afterwards.",
)
@click.option("--remote", default="origin", show_default=True, help="The remote of the pull request.")
@click.option("--repo", metavar="OWNER/NAME", help="The GitHub repository (default: from the remote's URL).")
@click.option(
    "--exec",
    "command",
    metavar="CMD",
    help="Run the rest with this command instead (recorded: later resumes keep it, as with resume --exec).",
)
@with_options([*signing_options, yes_option])
@json_option
def revise(
    target: str,
    comments: tuple[str, ...],
    from_pr: bool,
    remote: str,
    repo: str | None,
    command: str | None,
    yes: bool,
    as_json: bool,
    **signing: Any,
) -> int:
    """Turn review comments into the next step of a finished fork, on the same branch."""
    from conductor.commands import revise as revise_command

    return finish(
        revise_command.run(
            target,
            comments=list(comments),
            command=command,
            yes=yes,
            signing=signing_from(signing),
            from_pr=from_pr,
            remote=remote,
            repo=repo,
        ),
        as_json,
    )


def decision_options(func: F) -> F:
    """The arguments approve and reject share."""
    func = click.argument("step")(func)
    func = click.option("--plan", help="The plan (default: the one where STEP waits).")(func)
    func = click.option("--fork", help="The fork (default: the one where STEP waits).")(func)
    func = click.option("--reason", default="", help="Why; recorded with the decision.")(func)
    func = click.option(
        "--no-resume", is_flag=True, help="Only record the decision; do not continue the plan."
    )(func)
    return json_option(func)


def _decide(approve: bool) -> Callable[..., int]:
    def decide(
        step: str, plan: str | None, fork: str | None, reason: str, no_resume: bool, as_json: bool
    ) -> int:
        from conductor.commands import decide as command

        return finish(
            command.run(step, approve=approve, plan=plan, fork=fork, reason=reason, no_resume=no_resume),
            as_json,
        )

    return decide


cli.command(
    "approve",
    help="Approve a step that waits for a person (LOW, or MEDIUM without verify commands), then continue.",
    epilog="Example:\n\n  conductor approve step_001 --plan hello-3f9a",
)(decision_options(_decide(approve=True)))
cli.command(
    "reject",
    help="Reject a step that waits for approval; its fork fails.",
    epilog="Example:\n\n  conductor reject step_001 --reason 'too broad; split it'",
)(decision_options(_decide(approve=False)))


@cli.command(
    epilog="""\b
Examples:
  conductor abandon hello-3f9a --reason "the approach does not work"
  conductor abandon hello-3f9a --fork sqlite     end one fork; the others go on

\b
The plan's history stays; its forks are marked abandoned, so `conductor status` no longer
shows them as running and `conductor clean PLAN` can remove their worktrees and mailbox.
Refused while a Conductor process runs the plan.
"""
)
@click.argument("plan")
@click.option("--fork", help="Only this fork (default: every fork not finished yet).")
@click.option("--reason", default="", help="Why; recorded with the end.")
@json_option
def abandon(plan: str, fork: str | None, reason: str, as_json: bool) -> int:
    """End a plan (or one fork) that will not be finished, whatever its records say."""
    from conductor.commands import abandon as command

    return finish(command.run(plan, fork=fork, reason=reason), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor adopt hello-3f9a                      the recommended (or only) fork, fast-forward
  conductor adopt hello-3f9a/sqlite --merge       a merge commit naming the plan and fork
  conductor adopt hello-3f9a --squash --prune     one commit; delete the other forks' branches
  conductor adopt hello-3f9a --into release-1.2   a branch that need not be checked out

\b
The target is the branch the plan started from unless --into names another. The merge or
squash commit is an ordinary `git commit`: your identity and your hooks (the guard) apply.
Step commits keep their Conductor-* trailers; a squash lists each step's trailers.
"""
)
@click.argument("target", metavar="PLAN[/FORK]")
@click.option("--into", metavar="BRANCH", help="The branch to bring the fork into.")
@click.option("--ff", "strategy", flag_value="ff", default=True, help="Fast-forward only (the default).")
@click.option("--merge", "strategy", flag_value="merge", help="A merge commit (git merge --no-ff).")
@click.option("--squash", "strategy", flag_value="squash", help="One commit listing the steps.")
@click.option("--prune", is_flag=True, help="Delete the other forks' branches (their logs stay).")
@json_option
def adopt(target: str, into: str | None, strategy: str, prune: bool, as_json: bool) -> int:
    """Bring a finished fork into a branch: fast-forward, merge or squash."""
    from conductor.commands import adopt as command

    return finish(command.run(target, into=into, strategy=strategy, prune=prune), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor pr                              the latest plan's recommended fork, to origin
  conductor pr hello-3f9a/b --draft         that fork, as a draft
  conductor pr --state-remote records --base develop
  conductor pr --repo acme/app --remote fork

\b
Pushes the fork branch (--force-with-lease) and the plan's records (refs/conductor/...),
then creates the pull request on GitHub, or updates the open one for the same branch: its
body lists the steps, their verdicts, checks and provenance, and how to verify them.
The token comes from GITHUB_TOKEN, GH_TOKEN or `gh auth token`; the API from
GITHUB_API_URL (default https://api.github.com). For a remote that is not GitHub the
body is written to .git/conductor/pr/PLAN.md, with `git request-pull` instructions.
"""
)
@click.argument("target", metavar="[PLAN[/FORK]]", required=False)
@click.option("--remote", default="origin", show_default=True, metavar="NAME", help="Push the branch here.")
@click.option(
    "--state-remote", metavar="NAME", help="Push the plan's records here instead (to keep them private)."
)
@click.option("--base", metavar="BRANCH", help="The branch to merge into (default: the remote's default).")
@click.option("--repo", metavar="OWNER/NAME", help="The GitHub repository (default: from the remote's URL).")
@click.option("--draft", is_flag=True, help="Open the pull request as a draft.")
@json_option
def pr(
    target: str | None,
    remote: str,
    state_remote: str | None,
    base: str | None,
    repo: str | None,
    draft: bool,
    as_json: bool,
) -> int:
    """Push a fork with its records and open (or update) its pull request."""
    from conductor.commands import pr as command

    return finish(
        command.run(target, remote=remote, state_remote=state_remote, base=base, repo=repo, draft=draft),
        as_json,
    )
