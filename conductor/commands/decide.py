"""`conductor approve STEP` / `conductor reject STEP`: a reviewer's decision on a step that waits
for approval (LOW confidence). The decision is recorded, then the plan continues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conductor.report import Report
from conductor.runner.logs.approval import Waiting, record_decision
from conductor.runner.plan.launch import PlanRun, resume


@dataclass
class Decision(Report):
    """The decision, and the plan's run after it (None with --no-resume)."""

    waiting: Waiting
    approved: bool
    run: PlanRun | None = None

    @property
    def verb(self) -> str:
        return "Approved" if self.approved else "Rejected"

    @property
    def exit_code(self) -> int:
        return self.run.exit_code if self.run is not None else 0

    def to_json(self) -> dict[str, Any]:
        if self.run is not None:
            return self.run.to_json()
        w = self.waiting
        return {"plan": w.plan, "fork": w.fork, "step": w.step, "decision": self.verb.lower()}

    def render(self) -> str:
        w = self.waiting
        if self.run is None:
            return f"{self.verb} {w.step} of {w.plan}/{w.fork}.\nContinue with: conductor resume {w.plan}"
        return f"{self.verb} {w.step} of {w.plan}/{w.fork}; continuing the plan.\n{self.run.render()}"


def run(
    step: str, *, approve: bool, plan: str | None, fork: str | None, reason: str, no_resume: bool
) -> Decision:
    waiting = record_decision(step, plan=plan, fork=fork, approve=approve, reason=reason)
    decision = Decision(waiting, approve)
    if not no_resume:
        decision.run = resume(waiting.plan, command=None, yes=False)
    return decision
