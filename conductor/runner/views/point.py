"""Points in a plan's history, as users write them: `PLAN/FORK@STEP`.

`PLAN/FORK@step_002` is the code as that step was accepted (its commit on the fork branch),
with the fork log's records as they were right then. `PLAN/FORK@base` is the plan's base
commit; `PLAN/FORK` the branch as it is now. `conductor/PLAN/FORK…` (the branch name) works
too.
"""

from __future__ import annotations

from dataclasses import dataclass

from conductor.errors import ConductorError, NotFoundError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.origin import Origin
from conductor.runner.logs import forkstate
from conductor.runner.logs.plans import PlanRecord, load_plan

FORM = "PLAN/FORK@STEP (e.g. hello-3f9a/main@step_002; @base for the plan's base, no @ for the branch tip)"


@dataclass(frozen=True)
class Point:
    plan: str
    fork: str
    step: str | None  # None: the branch tip; "base": the plan's base commit
    commit: str  # the code at this point
    record: str | None  # the fork-log commit of this point (records as they were), if any

    @property
    def label(self) -> str:
        return f"{self.plan}/{self.fork}" + (f"@{self.step}" if self.step else "")


def parse(text: str) -> tuple[str, str, str | None]:
    where, at, step = text.strip().partition("@")
    plan, slash, fork = where.removeprefix("refs/heads/").removeprefix("conductor/").partition("/")
    if not (plan and slash and fork) or "/" in fork or (at and not step):
        raise ConductorError(f"'{text}' is not a point in a plan", hint=f"write {FORM}")
    return plan, fork, step or None


def before_first(plan: PlanRecord, fork: str, step: str) -> None:
    """A step before the first of a plan made by `conductor fork --from` (which keeps the step
    numbers) is the old plan's: say where it is."""
    first = next((f.first_step for f in plan.spec.forks if f.id == fork), 1)
    number = step.removeprefix("step_")
    if not (plan.source.startswith("fork:") and number.isdigit() and 1 <= int(number) < first):
        return
    old_plan, old_fork, _ = parse(plan.source.removeprefix("fork:"))
    raise NotFoundError(
        f"{plan.id}/{fork} starts at step_{first:03d}: {step} is in the plan it came from",
        hint=f"{old_plan}/{old_fork}@{step}" + (" (this plan's @base)" if int(number) == first - 1 else ""),
    )


def accepted_steps(read: forkstate.Read | None) -> dict[str, str]:
    """Each step the fork accepted, in the order first accepted: the commit it was last accepted
    with, from the fork's kept state (forkstate.py: no log is read whole)."""
    steps = read.state.steps.values() if read is not None else ()
    return {
        s.id: str(s.commit)
        for s in sorted((s for s in steps if s.accepted_seq), key=lambda s: s.accepted_seq)
    }


def acceptance_record(ledger: Ledger, read: forkstate.Read, step: str) -> str | None:
    """The fork-log commit of the step's last task.completed (its records as they were then):
    found among the step's own events, newest first."""
    state = read.state
    for event in reversed(forkstate.step_events(ledger, state.plan, state.fork, state, step)):
        if event.type is EventType.TASK_COMPLETED:
            return event.commit
    return None


def origin_of(ledger: Ledger, point: Point) -> Origin:
    """Where a plan started from `point` comes from, as its plan.json records it. A branch tip
    that is an accepted step's commit is that step: its records attest what the plan inherits."""
    step = point.step
    if step is None:
        accepted = accepted_steps(forkstate.read(ledger, point.plan, point.fork))
        tips = [s for s, commit in accepted.items() if commit == point.commit]
        step = tips[-1] if tips else None
    return Origin(point.plan, point.fork, step, point.commit)


def resolve(ledger: Ledger, text: str) -> Point:
    plan_id, fork, step = parse(text)
    plan = load_plan(ledger, plan_id)
    forks = ledger.forks(plan_id)
    if fork not in forks:
        raise NotFoundError(
            f"plan {plan_id} has no fork {fork}", hint=f"its forks: {', '.join(forks) or 'none'}"
        )
    log = refs.fork_log(plan_id, fork)
    if step is None:
        tip = ledger.points_at(refs.code_branch(plan_id, fork))
        if tip is None:
            raise NotFoundError(f"the branch {refs.short_branch(plan_id, fork)} is gone")
        return Point(plan_id, fork, None, tip, ledger.log_end(log))
    if step == "base":
        return Point(plan_id, fork, "base", plan.base, None)
    read = forkstate.read(ledger, plan_id, fork)
    accepted = accepted_steps(read)
    if read is None or step not in accepted:
        before_first(plan, fork, step)
        done = ", ".join(accepted) or "none yet"
        raise NotFoundError(
            f"{step} of {plan_id}/{fork} was not accepted", hint=f"accepted steps: {done}; or @base"
        )
    return Point(plan_id, fork, step, accepted[step], acceptance_record(ledger, read, step))
