"""Review comments become the next step of a fork (`conductor revise`, docs/review.md).

A finished fork is given one more step whose instruction is the reviewers' comments, each
with its file and line; the step may change the files the fork's steps could change and the
files the comments name, and is verified with the fork's verify commands. The plan's record
gains the step (a `plan.revised` event in the plan log), the fork is reopened (`fork.resumed`),
and the plan resumes with the executor it was started with — the same policy, the same fork
log, the same branch — so the new commit is attested like the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from conductor.errors import ConductorError
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.layout import FORK_FILE, PLAN_FILE
from conductor.models.paths import escape_reason
from conductor.models.plan import StepSpec
from conductor.report import plural
from conductor.runner.logs import forklog
from conductor.runner.logs.forklog import ForkLog
from conductor.runner.logs.planlog import PlanLog
from conductor.runner.logs.plans import PlanRecord, fork_record, load_plan, step_ids

TITLE = "Address review comments"
REOPENABLE = ("completed",)


@dataclass(frozen=True)
class Comment:
    """One review comment: its text, and where it points (when it does)."""

    body: str
    path: str | None = None
    line: int | None = None
    author: str | None = None

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.path and self.line else self.path or "general"
        who = f" ({self.author})" if self.author else ""
        return f"- [{where}]{who} {self.body.strip()}"


def revision_step(plan: PlanRecord, fork: str, comments: list[Comment]) -> StepSpec:
    """The step the comments ask for."""
    if not comments or not any(c.body.strip() for c in comments):
        raise ConductorError("no review comments to address", hint='give them with --comment "TEXT"')
    spec = plan.fork(fork)
    allowed: list[str] = []
    verify: list[str] = []
    for step in spec.steps:
        allowed += [p for p in step.allowed_files if p not in allowed]
        verify += [v for v in step.verify if v not in verify]
    for comment in comments:
        if comment.path and escape_reason(comment.path) is None and comment.path not in allowed:
            allowed.append(comment.path)
    listed = "\n".join(c.render() for c in comments)
    instruction = (
        f"A reviewer read this fork's change (goal: {plan.goal}) and asks for the following."
        f" Address every comment; change nothing else.\n\n{listed}"
    )
    return StepSpec(title=TITLE, instruction=instruction, allowed_files=allowed, verify=verify)


def reopen(ledger: Ledger, plan_id: str, fork: str, comments: list[Comment]) -> str:
    """Add the revision step to the plan's record and reopen the fork; returns the new step id."""
    plan = load_plan(ledger, plan_id)
    plan.fork(fork)  # an unknown fork is named
    fork_log = ForkLog(ledger, plan_id, fork)
    tip = fork_log.tip()
    state = forklog.state_of(tip) if tip is not None else None
    if state not in REOPENABLE:
        raise ConductorError(
            f"fork {plan_id}/{fork} is {state or 'not started'}: only a completed fork can be revised",
            hint=f"`conductor resume {plan_id}` finishes it first",
        )
    step = revision_step(plan, fork, comments)
    forks = [f.model_copy(update={"steps": [*f.steps, step]}) if f.id == fork else f for f in plan.spec.forks]
    revised = replace(plan, spec=plan.spec.model_copy(update={"forks": forks}))
    step_id = step_ids(revised.fork(fork))[-1]
    before = forklog.read_record(tip)  # refused (a record that is not one) before anything is written
    record = before.with_step(step_id, step.title) if before else fork_record(revised, revised.fork(fork))
    PlanLog(ledger, plan_id).record(
        EventType.PLAN_REVISED,
        f"{fork}: {plural(len(comments), 'review comment')}"
        f" {'becomes' if len(comments) == 1 else 'become'} {step_id}",
        fork=fork,
        step=step_id,
        data={"fork": fork, "step": step_id, "comments": [c.__dict__ for c in comments]},
        changes={PLAN_FILE: revised.dumps()},
    )
    fork_log.record(
        EventType.FORK_RESUMED,
        f"reopened for review comments ({step_id})",
        data={"revision": step_id},
        changes={FORK_FILE: record.dumps()},
    )
    return step_id
