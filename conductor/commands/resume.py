"""`conductor resume [PLAN]`: continue a halted or crashed plan exactly where its log ends,
with the executor it last ran with or the one the command line names (recorded and kept)."""

from __future__ import annotations

from conductor.commands.output.plans import RunReport
from conductor.runner.plan.launch import Launch, resume


def run(plan: str | None, *, launch: Launch) -> RunReport:
    return RunReport(resume(plan, launch=launch))
