"""`conductor fork --from PLAN/FORK@STEP`: a new plan that starts from a point of an old one.

The new plan's base is the code as that step was accepted; the old plan and its history stay
as they are. Its steps are, by default, the steps the old fork had left after that point
(to run them again, say with another executor), with the numbers they had there (the fork's
`first_step`); or one fork per `--strategy TEXT`; or the forks of a plan file. The new plan
records where it came from (`source: fork:<point>`, and `origin`: plan, fork, step, commit, which
`conductor verify` and `conductor pr` follow) and the old plan's branch, to be adopted into.
"""

from __future__ import annotations

import dataclasses

from conductor.commands.output.plans import RunReport
from conductor.errors import ConductorError
from conductor.ledger.store import Ledger
from conductor.models.plan import ForkSpec, PlanSpec
from conductor.progress import say
from conductor.project import find_root
from conductor.runner.logs.plans import load_plan, step_index
from conductor.runner.plan.explore import user_strategies
from conductor.runner.plan.launch import Launch, begin, create, launched, load_plan_file
from conductor.runner.views.point import Point, origin_of, resolve


def remaining(spec: PlanSpec, point: Point) -> PlanSpec:
    """The steps the point's fork had after the point, as a one-fork plan whose steps keep
    their numbers (`first_step`): `@step_003` is the same step in both plans."""
    fork = next(f for f in spec.forks if f.id == point.fork)
    after = 0 if point.step in (None, "base") else step_index(fork, point.step or "") + 1
    rest = [] if point.step is None else fork.steps[after:]
    if not rest:
        where = "at its tip" if point.step is None else f"after {point.step}"
        raise ConductorError(
            f"{point.plan}/{point.fork} has no steps left {where}",
            hint="say what to do from there: --strategy TEXT (repeatable) or --plan FILE",
        )
    # step_00N's point is the code as it was accepted: what runs now comes after it
    origin = "from its base" if point.step == "base" else f"after {point.step}"
    strategy = f"the rest of {point.plan}/{point.fork} {origin}"
    first = fork.first_step + after
    return PlanSpec(
        goal=spec.goal,
        policy=spec.policy,
        forks=[ForkSpec(id=fork.id, strategy=strategy, steps=rest, first_step=first)],
    )


def starting_point(point: Point) -> str:
    """What a point is, for the line that names it: `@step_002` is the code as step_002 was
    accepted, so the new plan runs after it (its first step is step_003, never step_002)."""
    if point.step is None:
        return "the branch tip"
    if point.step == "base":
        return "the plan's base"
    return f"the code as {point.step} was accepted: the new plan runs after it"


def run(origin: str, *, strategies: list[str], plan_file: str | None, launch: Launch) -> RunReport:
    if plan_file and strategies:
        raise ConductorError("give --strategy or --plan, not both")
    point = resolve(Ledger(find_root()), origin)
    start = begin(dataclasses.replace(launch, base=point.commit))
    old = load_plan(start.ledger, point.plan)
    start.branch = old.branch  # adopted where the plan it came from would be
    doc = None
    if plan_file:
        spec, doc = load_plan_file(plan_file)
        spec = spec if spec.goal else spec.model_copy(update={"goal": old.goal})
    elif strategies:
        spec = user_strategies(old.goal, strategies)
    else:
        spec = remaining(old.spec, point)
    record = create(
        start,
        spec,
        plan_file=plan_file,
        doc=doc,
        source=f"fork:{point.label}",
        origin=origin_of(start.ledger, point),
    )
    what = starting_point(point)
    say(f"  from {point.label} (commit {point.commit[:12]}, {what}); {point.plan} is unchanged")
    return RunReport(launched(start, record, jobs=min(4, len(spec.forks))))
