"""Forks compared, as the commands show them (explore, compare, the demo): each fork's summary
in JSON (contract.py), the table and the lines that say what to decide, and explore's report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.commands.output.plans import decide
from conductor.report import Report, table
from conductor.runner.views.compare import table_rows

if TYPE_CHECKING:
    from conductor.commands.output import contract as c
    from conductor.runner.plan.explore import Exploration
    from conductor.runner.views.compare import ForkSummary


def summary_json(s: ForkSummary) -> c.ForkSummary:
    return {
        "fork": s.fork,
        "strategy": s.strategy,
        "branch": s.branch,
        "state": cast("c.ForkState", s.status),
        "steps": {"passed": s.steps_passed, "total": s.steps_total},
        "evidence": {"passed": s.evidence_passed, "total": s.evidence_total},
        "diff_lines": s.diff_lines,
        "confidence": round(s.confidence, 2) if s.confidence is not None else None,
        "tokens": s.tokens,
        "repairs": s.repairs,
        "seconds": round(s.seconds, 1) if s.seconds is not None else None,
        "spawned": s.spawned,
        "waiting": list(s.waiting),
    }


def decisions(plan: str, summaries: list[ForkSummary]) -> list[str]:
    """For each step waiting for approval: the command that decides it (naming the fork when
    the plan has several, where `--plan` alone does not say which)."""
    several = len(summaries) > 1
    return [decide(plan, s.fork, step, several=several) for s in summaries for step in s.waiting]


def compared(summaries: list[ForkSummary]) -> str:
    """The forks side by side, one row each."""
    return table(table_rows(summaries), indent="  ")


@dataclass
class ExplorationReport(Report):
    """The plan after the run, each fork compared, and the one to merge."""

    exploration: Exploration

    @property
    def exit_code(self) -> int:
        """0 with a fork to recommend, or when every fork completed (even if no evidence tells
        them apart); 1 when the plan stopped short (a fork failed, halted or waits for approval)."""
        e = self.exploration
        return 0 if e.recommended or e.run.state == "completed" else 1

    def to_json(self) -> c.Exploration:
        e = self.exploration
        return {
            "plan": e.run.plan,
            "state": cast("c.PlanState", e.run.state),
            "base": e.run.base,
            "forks": [summary_json(f) for f in e.forks],
            "recommended": e.recommended,
            "reason": e.reason,
        }

    def render(self) -> str:
        e = self.exploration
        plan = e.run.plan
        lines = [f"plan {plan}: {e.run.state}", "", compared(e.forks), ""]
        if e.recommended:
            branch = next(f.branch for f in e.forks if f.fork == e.recommended)
            lines.append(f"Recommended: {e.recommended} — {e.reason}")
            lines.append(f"Review: git log --stat {e.run.base[:12]}..{branch}   (or open a pull request)")
        else:
            lines.append(f"No fork to recommend: {e.reason}")
        lines.extend(decisions(plan, e.forks))
        lines.extend(f"  {fork.fork}: {fork.strategy}" for fork in e.forks if fork.strategy)
        lines.append(f"Details: conductor explain <step> --plan {plan} --fork <fork>")
        if len(e.forks) > 1:
            lines.append(f"Again later: conductor compare {plan}; conductor diff {plan}/<fork>")
        return "\n".join(lines)
