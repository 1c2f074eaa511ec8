"""`conductor compare [PLAN]`: a plan's forks side by side and the one recommended — as recorded
in the plan log when its last run ended, or computed now when none is recorded or the plan has
moved on since (the report says which)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.report import Report, table
from conductor.runner.logs.plans import ANY_STATE, latest_plan, load_plan
from conductor.runner.views import compare
from conductor.runner.views.compare import Comparison


@dataclass
class CompareReport(Report):
    comparison: Comparison
    base: str
    recorded: bool  # read from the plan log (else computed now)
    note: str  # where it comes from, or why it was computed now

    def to_json(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "plan": c.plan,
            "state": c.state,
            "base": self.base,
            "source": "recorded" if self.recorded else "computed",
            "recorded_at": c.time if self.recorded else None,
            "note": self.note,
            "forks": [f.to_json() for f in c.forks],
            "recommended": c.recommended,
            "reason": c.reason,
        }

    def render(self) -> str:
        c = self.comparison
        lines = [f"plan {c.plan}: {c.state}", self.note, ""]
        lines.append(table(compare.table_rows(c.forks), indent="  "))
        lines.append("")
        if len(c.forks) > 1 and c.recommended:
            lines.append(f"Recommended: {c.recommended} — {c.reason}")
        elif len(c.forks) > 1:
            lines.append(f"No fork to recommend: {c.reason}")
        lines.extend(compare.decisions(c.plan, c.forks))
        for fork in c.forks:
            if fork.strategy:
                lines.append(f"  {fork.fork}: {fork.strategy}")
        names = [f.fork for f in c.forks]
        if names:
            pick = c.recommended or names[0]
            other = next((n for n in names if n != pick), None)
            if other is not None:
                lines.append(f"Between two: conductor diff {c.plan}/{other} {c.plan}/{pick}")
            lines.append(f"Its change:  conductor diff {c.plan}/{pick} --stat")
        return "\n".join(lines)


def run(plan: str | None) -> CompareReport:
    ledger = Ledger(find_root())
    plan_id = plan or latest_plan(ledger, states=ANY_STATE)
    record = load_plan(ledger, plan_id)  # an unknown plan is named here, with the known ones
    tip = ledger.tip(refs.plan_log(plan_id))
    state = (tip.event.state if tip is not None else None) or "running"
    if len(ledger.forks(plan_id)) < 2:
        return CompareReport(
            compare.current(ledger, plan_id, state),
            record.base,
            recorded=False,
            note="one fork: nothing to compare (its summary; a comparison is recorded for several forks)",
        )
    found = compare.recorded(ledger, plan_id)
    if found is None:
        note = "computed now: no comparison is recorded (one is when a run of the plan ends)"
        return CompareReport(compare.current(ledger, plan_id, state), record.base, recorded=False, note=note)
    moved = compare.moved_on(found, ledger)
    if moved:
        note = (
            f"computed now: the plan moved on since the comparison recorded {found.time}"
            f" (fork {', '.join(moved)} changed)"
        )
        return CompareReport(compare.current(ledger, plan_id, state), record.base, recorded=False, note=note)
    return CompareReport(
        found, record.base, recorded=True, note=f"recorded in the plan log at {found.time} (plan.compared)"
    )
