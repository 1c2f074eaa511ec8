"""`conductor revise PLAN/FORK --comment TEXT`: review comments become the fork's next step,
run by the fork's executor under the same policy (docs/review.md)."""

from __future__ import annotations

import re
from dataclasses import replace

from conductor.commands.output.plans import RunReport
from conductor.errors import ConductorError
from conductor.ledger.store import Ledger
from conductor.progress import say
from conductor.project import find_root
from conductor.provenance.signing import SigningChoice
from conductor.report import plural
from conductor.runner.logs.plans import latest_plan
from conductor.runner.plan import revise
from conductor.runner.plan.launch import resume

_WHERE = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+):\s*(?P<body>.+)$", re.S)


def parse_comment(text: str) -> revise.Comment:
    """`path:line: text` points at a line; anything else is a general comment."""
    found = _WHERE.match(text.strip())
    if found:
        return revise.Comment(found["body"], found["path"], int(found["line"]))
    return revise.Comment(text)


def from_api(data: dict[str, object]) -> revise.Comment:
    """A GitHub review comment (`line` is null on an outdated diff: `original_line` then)."""
    line = data.get("line") or data.get("original_line")
    user = data.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return revise.Comment(
        str(data.get("body") or ""),
        str(data["path"]) if data.get("path") else None,
        int(line) if isinstance(line, int) else None,
        str(login) if login else None,
    )


def run(
    target: str,
    *,
    comments: list[str],
    command: str | None,
    yes: bool,
    signing: SigningChoice | None = None,
    from_pr: bool = False,
    remote: str = "origin",
    repo: str | None = None,
) -> RunReport:
    root = find_root()
    ledger = Ledger(root)
    plan, _, fork = target.partition("/")
    if not fork:
        raise ConductorError(
            f"'{target}' names no fork: give PLAN/FORK", hint="conductor status lists each plan's forks"
        )
    plan = plan or latest_plan(ledger, states=("completed",))
    found = [parse_comment(c) for c in comments]
    if from_pr:
        from conductor.runner.publish.pullrequest import review_comments

        found += [from_api(c) for c in review_comments(root, plan, fork, remote=remote, repo=repo)]
    step = revise.reopen(ledger, plan, fork, found)
    say(f"{plan}/{fork}: {plural(len(found), 'review comment')} {'is' if len(found) == 1 else 'are'} {step}")
    outcome = replace(resume(plan, command=command, yes=yes, signing=signing), review=fork)
    if from_pr and outcome.state == "completed":
        from conductor.runner.publish.pullrequest import open_pr

        updated = open_pr(
            root, f"{plan}/{fork}", remote=remote, state_remote=None, base=None, repo=repo, draft=False
        )
        say(f"pull request #{updated.number} {updated.action}: {updated.url}")
    return RunReport(outcome)
