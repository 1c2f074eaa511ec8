"""`conductor build "<goal>"`: a plan with a single strategy, its steps run in order.

The plan comes from `--plan FILE`, from the planner when a model is configured, or is one
step whose instruction is the goal and whose allowed files are everything the policy does
not protect.
"""

from __future__ import annotations

from conductor.commands.output.plans import RunReport
from conductor.errors import ConductorError
from conductor.llm.caller import Exchange
from conductor.progress import say
from conductor.runner.logs.plans import single_step_plan
from conductor.runner.plan.launch import Launch, begin, create, launched, load_plan_file, planner


def run(goal: str | None, *, plan_file: str | None, launch: Launch) -> RunReport:
    start = begin(launch)
    doc = None
    exchanges: list[Exchange] = []
    if plan_file:
        spec, doc = load_plan_file(plan_file)
        if goal:
            spec = spec.model_copy(update={"goal": goal})
        if not spec.goal:
            raise ConductorError("the plan has no goal", hint=f'add `goal:` to {plan_file} or pass "<goal>"')
        source = f"file:{plan_file}"
    elif goal and start.settings is not None:
        say(f"planning with {start.settings.provider} {start.settings.model}...")
        the_planner = planner(start)
        spec = the_planner.plan(goal, forks=1)
        exchanges = [e for answer in the_planner.answers for e in answer.exchanges]
        source = f"planner:{start.settings.provider}/{start.settings.model}"
    elif goal:
        spec = single_step_plan(goal)
        source = "goal"
    else:
        raise ConductorError('give a goal (conductor build "<goal>") or a plan file (--plan FILE)')
    if len(spec.forks) != 1:
        raise ConductorError(
            f"build runs a single strategy, but the plan has {len(spec.forks)} forks",
            hint="use `conductor explore --plan FILE` for several strategies",
        )
    record = create(start, spec, plan_file=plan_file, doc=doc, source=source, exchanges=exchanges)
    return RunReport(launched(start, record))
