"""`conductor revise PLAN/FORK --comment TEXT`: review comments become the fork's next step,
run by the fork's executor under the same policy (docs/review.md)."""

from __future__ import annotations

import re

from conductor.errors import ConductorError
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.provenance.signing import SigningChoice
from conductor.runner import revise
from conductor.runner.launch import PlanRun, resume
from conductor.runner.plans import latest_plan

_WHERE = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+):\s*(?P<body>.+)$", re.S)


def parse_comment(text: str) -> revise.Comment:
    """`path:line: text` points at a line; anything else is a general comment."""
    found = _WHERE.match(text.strip())
    if found:
        return revise.Comment(found["body"], found["path"], int(found["line"]))
    return revise.Comment(text)


def run(
    target: str,
    *,
    comments: list[str],
    command: str | None,
    yes: bool,
    signing: SigningChoice | None = None,
) -> PlanRun:
    ledger = Ledger(find_root())
    plan, _, fork = target.partition("/")
    if not fork:
        raise ConductorError(
            f"'{target}' names no fork: give PLAN/FORK", hint="conductor status lists each plan's forks"
        )
    plan = plan or latest_plan(ledger, states=("completed",))
    step = revise.reopen(ledger, plan, fork, [parse_comment(c) for c in comments])
    from conductor.progress import say

    say(f"{plan}/{fork}: the review comments are {step}")
    return resume(plan, command=command, yes=yes, signing=signing)
