"""`conductor resume [PLAN]`: continue a halted or crashed plan exactly where its log ends,
with the executor it last ran with or the one the command line names (recorded and kept)."""

from __future__ import annotations

from conductor.runner.plan.launch import Launch, PlanRun, resume


def run(plan: str | None, *, launch: Launch) -> PlanRun:
    return resume(plan, launch=launch)
