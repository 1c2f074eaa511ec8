"""`conductor explain STEP`: instruction, confidence, policy, each verdict and its evidence, commits."""

from __future__ import annotations

from conductor.runner.views.explanation import Explanation, explain


def run(step: str, *, plan: str | None, fork: str | None) -> Explanation:
    return explain(step, plan=plan, fork=fork)
