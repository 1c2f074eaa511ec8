"""`conductor explore "<goal>"`: several strategies at once, one fork branch each, run in
parallel, compared at the end with a recommendation.

Strategies come from the planner (`--forks N`, a model configured), from the user
(`--strategy TEXT`, with any executor), or from a plan file with `forks:`. A fork that fails
may spawn one new strategy from the planner (dynamic forking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conductor.commands import build
from conductor.commands.build import BuildResult, Launch, begin, create, load_plan_file, planner
from conductor.errors import ConductorError
from conductor.llm import config as llm_config
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec
from conductor.output import table
from conductor.progress import Board
from conductor.runner import compare as compare_module
from conductor.runner.plans import PlanRecord, record_exchanges
from conductor.runner.scheduler import Spawner

DEFAULT_FORKS = 3
DEFAULT_JOBS = 4


@dataclass
class ExploreResult:
    build: BuildResult
    forks: list[compare_module.ForkSummary] = field(default_factory=list)
    recommended: str | None = None
    reason: str = ""

    @property
    def exit_code(self) -> int:
        return 0 if self.recommended else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.build.plan,
            "state": self.build.state,
            "base": self.build.base,
            "forks": [f.to_json() for f in self.forks],
            "recommended": self.recommended,
            "reason": self.reason,
        }


def user_strategies(goal: str, strategies: list[str]) -> PlanSpec:
    """Strategies from the user, without a planner: one step each, the goal plus the approach."""
    from conductor.llm.planner import unique_id

    taken: set[str] = set()
    forks = []
    for text in strategies:
        step = StepSpec(title=goal[:72], instruction=f"{goal}\n\nStrategy: {text}", allowed_files=[])
        forks.append(ForkSpec(id=unique_id(text, taken), strategy=text, steps=[step]))
    return PlanSpec(goal=goal, forks=forks)


def run(
    goal: str | None,
    *,
    forks: int | None,
    strategies: list[str],
    plan_file: str | None,
    jobs: int | None,
    spawn: bool,
    launch: Launch,
    live: bool | None = None,
) -> ExploreResult:
    start = begin(launch)
    config = llm_config.load_config(start.root).explore
    the_planner = planner(start) if start.settings is not None else None
    doc = None
    exchanges = []
    if plan_file:
        spec, doc = load_plan_file(plan_file)
        spec = spec.model_copy(update={"goal": goal}) if goal else spec
        source = f"file:{plan_file}"
    elif not goal:
        raise ConductorError('give a goal (conductor explore "<goal>") or a plan file (--plan FILE)')
    elif the_planner is not None and start.settings is not None:
        count = forks or (config.forks if config and config.forks else DEFAULT_FORKS)
        wanted = f"{len(strategies)} given" if strategies else str(count)
        build.say(f"planning {wanted} strategies with {start.settings.provider} {start.settings.model}...")
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
        outcome = build.launched(start, record, jobs=width, spawner=spawner, say_fn=board.say)
    summaries = compare_module.compare(start.ledger, record.id)
    best, reason = compare_module.recommend(summaries)
    return ExploreResult(outcome, summaries, best.fork if best else None, reason)


def _spawner(start: build.Start, the_planner: Any) -> Spawner:
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
            build.say(f"[{plan.id}] could not plan a new strategy: {exc.message}")
            return None
        new = [e for a in the_planner.answers for e in a.exchanges][before:]
        record_exchanges(start.ledger, plan.id, new)
        assert isinstance(fork, ForkSpec)
        return fork

    return spawn


def render(result: ExploreResult) -> str:
    lines = [f"plan {result.build.plan}: {result.build.state}", ""]
    lines.append(table(compare_module.table_rows(result.forks), indent="  "))
    lines.append("")
    if result.recommended:
        branch = next(f.branch for f in result.forks if f.fork == result.recommended)
        lines.append(f"Recommended: {result.recommended} — {result.reason}")
        lines.append(f"Review: git log --stat {result.build.base[:12]}..{branch}   (or open a pull request)")
    else:
        lines.append(f"No fork to recommend: {result.reason}")
    for fork in result.forks:
        if fork.strategy:
            lines.append(f"  {fork.fork}: {fork.strategy}")
    lines.append(f"Details: conductor explain <step> --plan {result.build.plan} --fork <fork>")
    return "\n".join(lines)
