"""`conductor explore "<goal>"`: several strategies in parallel, one fork branch each, compared
and one recommended. The work is runner/plan/explore.py's: the demo runs it too."""

from __future__ import annotations

from conductor.commands.output.forks import ExplorationReport
from conductor.runner.plan.explore import explore
from conductor.runner.plan.launch import Launch


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
) -> ExplorationReport:
    return ExplorationReport(
        explore(
            goal,
            forks=forks,
            strategies=strategies,
            plan_file=plan_file,
            jobs=jobs,
            spawn=spawn,
            launch=launch,
            live=live,
        )
    )
