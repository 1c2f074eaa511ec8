"""`conductor explore "<goal>"`: several strategies in parallel, one fork branch each, compared."""

from __future__ import annotations

from conductor.runner.explore import Exploration, explore
from conductor.runner.launch import Launch


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
) -> Exploration:
    return explore(
        goal,
        forks=forks,
        strategies=strategies,
        plan_file=plan_file,
        jobs=jobs,
        spawn=spawn,
        launch=launch,
        live=live,
    )
