"""Exploring a goal: several strategies at once, one fork branch each, run in parallel, compared
at the end with a recommendation (`conductor explore`, and the demo).

Strategies come from the planner (`--forks N`, a model configured), from the user
(`--strategy TEXT`, with any executor), or from a plan file with `forks:`. A fork that fails
may spawn one new strategy from the planner (dynamic forking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conductor.errors import ConductorError
from conductor.llm import config as llm_config
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec
from conductor.progress import Board, say
from conductor.runner.logs.plans import PlanRecord, record_exchanges
from conductor.runner.plan.launch import (
    Launch,
    PlanRun,
    Start,
    begin,
    create,
    launched,
    load_plan_file,
    planner,
)
from conductor.runner.plan.scheduler import Spawner
from conductor.runner.views import compare as compare_module

if TYPE_CHECKING:
    from conductor.llm.caller import Exchange
    from conductor.llm.planner import LLMPlanner

DEFAULT_FORKS = 3
DEFAULT_JOBS = 4


@dataclass
class Exploration:
    """The plan after the run, each fork compared, and the one to merge (or why none)."""

    run: PlanRun
    forks: list[compare_module.ForkSummary] = field(default_factory=list)
    recommended: str | None = None
    reason: str = ""


def user_strategies(goal: str, strategies: list[str]) -> PlanSpec:
    """Strategies from the user, without a planner: one step each, the goal plus the approach."""
    from conductor.llm.planner import unique_id

    taken: set[str] = set()
    forks = []
    for text in strategies:
        step = StepSpec(title=goal[:72], instruction=f"{goal}\n\nStrategy: {text}", allowed_files=[])
        forks.append(ForkSpec(id=unique_id(text, taken), strategy=text, steps=[step]))
    return PlanSpec(goal=goal, forks=forks)


def explore(
    goal: str | None,
    *,
    forks: int | None,
    strategies: list[str],
    plan_file: str | None,
    jobs: int | None,
    spawn: bool,
    launch: Launch,
    live: bool | None = None,
) -> Exploration:
    start = begin(launch)
    config = llm_config.load_config(start.root).explore
    the_planner = planner(start) if start.settings is not None else None
    doc = None
    exchanges: list[Exchange] = []
    if plan_file:
        spec, doc = load_plan_file(plan_file)
        spec = spec.model_copy(update={"goal": goal}) if goal else spec
        source = f"file:{plan_file}"
    elif not goal:
        raise ConductorError('give a goal (conductor explore "<goal>") or a plan file (--plan FILE)')
    elif the_planner is not None and start.settings is not None:
        count = forks or (config.forks if config and config.forks else DEFAULT_FORKS)
        wanted = f"{len(strategies)} given" if strategies else str(count)
        what = "strategy" if (len(strategies) or count) == 1 else "strategies"
        say(f"planning {wanted} {what} with {start.settings.provider} {start.settings.model}...")
        spec = the_planner.plan(goal, forks=count, strategies=strategies or None)
        exchanges = [e for answer in the_planner.answers for e in answer.exchanges]
        source = f"planner:{start.settings.provider}/{start.settings.model}"
    elif strategies:
        spec = user_strategies(goal, strategies)
        source = "strategies"
    else:
        raise ConductorError(
            "explore needs strategies: from a model (none is configured) or from you (--strategy TEXT)",
            hint=llm_config.NO_MODEL_HINT,
        )
    record = create(start, spec, plan_file=plan_file, doc=doc, source=source, exchanges=exchanges)
    width = jobs or (config.jobs if config and config.jobs else min(DEFAULT_JOBS, len(spec.forks)))
    spawner = _spawner(start, the_planner) if spawn and the_planner is not None else None
    with Board(live=live) as board:
        outcome = launched(start, record, jobs=width, spawner=spawner, say_fn=board.say)
    summaries = compare_module.compare(start.ledger, record.id)
    best, reason = compare_module.recommend(summaries)
    return Exploration(outcome, summaries, best.fork if best else None, reason)


def _spawner(start: Start, the_planner: LLMPlanner) -> Spawner:
    def spawn(plan: PlanRecord, failures: list[tuple[ForkSpec, str]]) -> ForkSpec | None:
        try:
            before = sum(len(a.exchanges) for a in the_planner.answers)
            fork = the_planner.alternative(
                plan.goal,
                [(f.strategy or f.id, reason) for f, reason in failures],
                taken={f.id for f in plan.spec.forks},
                number=len(failures),
            )
        except ConductorError as exc:
            say(f"[{plan.id}] could not plan a new strategy: {exc.message}")
            return None
        new = [e for a in the_planner.answers for e in a.exchanges][before:]
        record_exchanges(start.ledger, plan.id, new)
        return fork

    return spawn
