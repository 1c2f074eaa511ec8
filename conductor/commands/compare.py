"""`conductor compare [PLAN]`: a plan's forks side by side and the one recommended — as recorded
in the plan log when its last run ended, or computed now when none is recorded or the plan has
moved on since (the report says which)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.commands.output.forks import compared, decisions, summary_json
from conductor.errors import LedgerFormatError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.report import Report
from conductor.runner.logs import planlog
from conductor.runner.logs.plans import ANY_STATE, latest_plan, load_plan
from conductor.runner.views import compare
from conductor.runner.views.compare import Comparison

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class CompareReport(Report):
    comparison: Comparison
    base: str
    recorded: bool  # read from the plan log (else computed now)
    note: str  # where it comes from, or why it was computed now

    def to_json(self) -> c.Comparison:
        found = self.comparison
        return {
            "plan": found.plan,
            "state": cast("c.PlanState", found.state),
            "base": self.base,
            "source": "recorded" if self.recorded else "computed",
            "recorded_at": found.time if self.recorded else None,
            "note": self.note,
            "forks": [summary_json(f) for f in found.forks],
            "recommended": found.recommended,
            "reason": found.reason,
        }

    def render(self) -> str:
        found = self.comparison
        lines = [f"plan {found.plan}: {found.state}", self.note, ""]
        lines.append(compared(found.forks))
        lines.append("")
        if len(found.forks) > 1 and found.recommended:
            lines.append(f"Recommended: {found.recommended} — {found.reason}")
        elif len(found.forks) > 1:
            lines.append(f"No fork to recommend: {found.reason}")
        lines.extend(decisions(found.plan, found.forks))
        for fork in found.forks:
            if fork.strategy:
                lines.append(f"  {fork.fork}: {fork.strategy}")
        names = [f.fork for f in found.forks]
        if names:
            pick = found.recommended or names[0]
            other = next((n for n in names if n != pick), None)
            if other is not None:
                lines.append(f"Between two: conductor diff {found.plan}/{other} {found.plan}/{pick}")
            lines.append(f"Its change:  conductor diff {found.plan}/{pick} --stat")
        return "\n".join(lines)


def run(plan: str | None) -> CompareReport:
    ledger = Ledger(find_root())
    plan_id = plan or latest_plan(ledger, states=ANY_STATE)
    record = load_plan(ledger, plan_id)  # an unknown plan is named here, with the known ones
    tip = ledger.tip(refs.plan_log(plan_id))
    state = planlog.state_of(tip)
    if len(ledger.forks(plan_id)) < 2:
        return CompareReport(
            compare.current(ledger, plan_id, state),
            record.base,
            recorded=False,
            note="one fork: nothing to compare (its summary; a comparison is recorded for several forks)",
        )
    try:
        found = compare.recorded(ledger, plan_id)
    except LedgerFormatError as exc:
        note = f"computed now: {exc.message}"
        return CompareReport(compare.current(ledger, plan_id, state), record.base, recorded=False, note=note)
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
