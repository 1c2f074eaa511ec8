"""Planners turn a goal into a plan. Without a model, the goal becomes a single step that may
change any file the policy does not protect; the LLM planner plugs in here."""

from __future__ import annotations

from typing import Protocol

from conductor.models.plan import ForkSpec, PlanSpec, StepSpec


class Planner(Protocol):
    def plan(self, goal: str) -> PlanSpec: ...


class SingleStepPlanner:
    """One fork, one step: the instruction is the goal, allowed files are everything."""

    def plan(self, goal: str) -> PlanSpec:
        title = goal if len(goal) <= 72 else goal[:71] + "…"
        step = StepSpec(title=title, instruction=goal, allowed_files=[])
        return PlanSpec(goal=goal, forks=[ForkSpec(id="main", strategy="single strategy", steps=[step])])
