"""`conductor explain STEP`: instruction, confidence, policy, each verdict and its evidence, commits."""

from __future__ import annotations

from conductor.commands.output.explanation import ExplanationReport
from conductor.runner.views.explanation import explain


def run(step: str, *, plan: str | None, fork: str | None) -> ExplanationReport:
    return ExplanationReport(explain(step, plan=plan, fork=fork))
