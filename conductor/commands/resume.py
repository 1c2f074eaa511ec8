"""`conductor resume [PLAN]`: continue a halted or crashed plan exactly where its log ends."""

from __future__ import annotations

from conductor.provenance.signing import SigningChoice
from conductor.runner.launch import PlanRun, resume


def run(plan: str | None, *, command: str | None, yes: bool, signing: SigningChoice | None = None) -> PlanRun:
    return resume(plan, command=command, yes=yes, signing=signing)
