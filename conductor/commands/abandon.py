"""`conductor abandon PLAN [--fork F]`: record the end of a plan (or a fork) that will not be
finished, with the reason; `clean` then removes its worktrees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.report import Report
from conductor.runner.plan.abandon import Abandoned, abandon

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class AbandonReport(Report):
    done: Abandoned

    def to_json(self) -> c.Abandonment:
        d = self.done
        return {
            "plan": d.plan,
            "state": cast("c.PlanState", d.plan_state),
            "abandoned": d.forks,
            "already_finished": d.already,
            "reason": d.reason,
        }

    def render(self) -> str:
        d = self.done
        lines = [f"plan {d.plan}: {d.plan_state}"]
        if d.forks:
            lines.append(f"  abandoned: {', '.join(d.forks)} ({d.reason})")
        if d.already:
            lines.append(f"  already finished: {', '.join(d.already)}")
        lines.append(f"Remove its worktrees and mailbox with: conductor clean {d.plan}")
        return "\n".join(lines)


def run(plan: str, *, fork: str | None, reason: str) -> AbandonReport:
    return AbandonReport(abandon(plan, fork=fork, reason=reason))
