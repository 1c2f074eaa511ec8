"""`conductor status`: the newest plans and their forks with their states."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conductor.commands.output.plans import plan_json, step_text, when
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.report import Report, table
from conductor.runner.views.status import DEFAULT_LIMIT, Listing, PlanView, collect
from conductor.terminal import Screen

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class StatusReport(Report):
    listing: Listing

    @property
    def plans(self) -> list[PlanView]:
        return self.listing.plans

    def to_json(self) -> list[c.Plan]:
        return [plan_json(p) for p in self.plans]

    def render(self) -> str:
        text = render(self.plans)
        left = left_out(self.listing)
        return f"{text}\n{left}" if left and self.plans else left or text

    def show(self, screen: Screen, *, as_json: bool) -> None:
        super().show(screen, as_json=as_json)
        left = left_out(self.listing)
        if as_json and left:
            print(left, file=sys.stderr)


def run(*, limit: int | None = DEFAULT_LIMIT) -> StatusReport:
    """The newest `limit` plans (None: every plan, archived ones too)."""
    return StatusReport(collect(Ledger(find_root()), limit=limit))


def left_out(listing: Listing) -> str:
    """`… 4,980 older plans not shown: conductor status --all, or --limit N`, when some are not
    shown (archived ones only with --all)."""
    older = f"{listing.older:,} older plan{'s' if listing.older != 1 else ''}"
    archived = f"{listing.archived:,} archived plan{'s' if listing.archived != 1 else ''}"
    if listing.older and listing.archived:
        return f"… {older} and {archived} not shown: conductor status --all, or --limit N"
    if listing.older:
        return f"… {older} not shown: conductor status --all, or --limit N"
    if listing.archived:
        return f"… {archived} not shown: conductor status --all"
    return ""


def medium_mark(confidence: dict[str, Any] | None) -> str:
    """` · MEDIUM 0.62` for a step of medium confidence (proceed with caution), else nothing."""
    if not confidence or confidence.get("level") != "medium":
        return ""
    score = confidence.get("score")
    return " · MEDIUM" + (f" {score:.2f}" if isinstance(score, int | float) else "")


def render(plans: list[PlanView]) -> str:
    if not plans:
        return (
            "No plans yet.\n"
            'Start one with `conductor build "<goal>"` or `conductor explore "<goal>"`,'
            " or see it all in a throwaway project with `conductor demo`."
        )
    out = []
    for plan in plans:
        origin = f"  (from {plan.origin})" if plan.origin else ""
        origin += "  (archived)" if plan.archived else ""
        started = f"  started {when(plan.created_at)[:16]}" if plan.created_at else ""
        out.append(f"plan {plan.plan}  [{plan.state}]{started}  {plan.goal}{origin}".rstrip())
        if plan.hint is not None:
            out.append(f"  {plan.hint}")
        if plan.error is not None:
            out.append(f"  {plan.error}")
            out.append(f"  (end it with `conductor abandon {plan.plan}`)")
            continue
        rows = []
        for fork in plan.forks:
            counts: dict[str, int] = {}
            for step in fork.steps:
                name = step.state.replace("_", " ")
                counts[name] = counts.get(name, 0) + 1
            summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no steps yet"
            rows.append([f"fork {fork.fork}", f"[{fork.state}]", fork.branch, summary, when(fork.updated_at)])
            for step in fork.steps:
                rows.append(["", "", f"  {step.step}", step_text(step) + medium_mark(step.confidence), ""])
        if rows:
            out.append(table(rows, indent="  "))
        else:
            out.append("  no forks yet")
    return "\n".join(out)
