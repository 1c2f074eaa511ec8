"""`conductor approve STEP` / `conductor reject STEP`: a reviewer's decision on a step that waits
for approval (LOW confidence). The decision is recorded, then the plan continues."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conductor.commands.output.plans import run_json, run_text
from conductor.errors import ConductorError
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.report import Report
from conductor.runner.logs.approval import Waiting, record_decision
from conductor.runner.plan.launch import PlanRun, resume
from conductor.runner.plan.scheduler import write_metrics

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class Decision(Report):
    """The decision, and the plan's run after it (None with --no-resume)."""

    waiting: Waiting
    approved: bool
    reason: str
    run: PlanRun | None = None

    @property
    def verb(self) -> str:
        return "Approved" if self.approved else "Rejected"

    @property
    def exit_code(self) -> int:
        if self.run is None:
            return 0
        return 0 if self.run.state == "completed" else 1

    def to_json(self) -> c.Decision:
        w = self.waiting
        return {
            "plan": w.plan,
            "fork": w.fork,
            "step": w.step,
            "decision": "approved" if self.approved else "rejected",
            "reason": self.reason,
            "run": run_json(self.run) if self.run is not None else None,
        }

    def render(self) -> str:
        w = self.waiting
        if self.run is None:
            return f"{self.verb} {w.step} of {w.plan}/{w.fork}.\nContinue with: conductor resume {w.plan}"
        return f"{self.verb} {w.step} of {w.plan}/{w.fork}; continuing the plan.\n{run_text(self.run)}"


def run(
    step: str, *, approve: bool, plan: str | None, fork: str | None, reason: str, no_resume: bool
) -> Decision:
    waiting = record_decision(step, plan=plan, fork=fork, approve=approve, reason=reason)
    decision = Decision(waiting, approve, reason)
    if not no_resume:
        decision.run = resume(waiting.plan, command=None, yes=False)
    else:  # no run folds the decision into the metrics: a rejection counts at once, as abandon's do
        root = find_root()
        with contextlib.suppress(ConductorError, OSError):
            write_metrics(Ledger(root), root, waiting.plan)
    return decision
