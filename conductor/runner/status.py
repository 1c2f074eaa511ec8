"""The status read model: every plan and fork with its state, read from the ledger tips.

`conductor status` shows all plans; the launch path shows the one it ran (`plan_view`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conductor.engine.state import ForkState, Phase
from conductor.errors import ConductorError
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.layout import FORK_FILE, PLAN_FILE
from conductor.report import Report, table


@dataclass
class ForkView:
    id: str
    state: str
    branch: str
    steps: dict[str, str] = field(default_factory=dict)
    last_event: str = ""
    updated: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "branch": self.branch,
            "steps": self.steps,
            "last_event": self.last_event,
            "updated": self.updated,
        }


@dataclass
class PlanView:
    id: str
    goal: str
    state: str
    created: str
    forks: list[ForkView] = field(default_factory=list)
    origin: str | None = None  # PLAN/FORK@STEP it was forked from (`conductor fork --from`)
    error: str | None = None  # why its records cannot be read (state "unreadable")

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "goal": self.goal,
            "state": self.state,
            "created": self.created,
            "origin": self.origin,
            "forks": [f.to_json() for f in self.forks],
        }
        if self.error is not None:
            out["error"] = self.error
        return out


PHASE_NAMES = {
    Phase.NEW: "planned",
    Phase.AWAITING_APPROVAL: "awaiting approval",
    Phase.PENDING: "pending",
    Phase.CLAIMED: "in_progress",
    Phase.RECEIVED: "verifying",
    Phase.COMPLETED: "completed",
    Phase.FAILED: "failed",
}


def step_states(ledger: Ledger, ref: str, tip: Snapshot, plan: str, fork: str) -> tuple[str, dict[str, str]]:
    """The fork's state and each step's, from its events; planned steps included."""
    state = ForkState.replay(plan, fork, list(ledger.log(ref, newest_first=False)))
    steps: dict[str, str] = {}
    raw = tip.read(FORK_FILE)
    if raw is not None:
        for planned in json.loads(raw).get("steps", []):
            steps[planned["id"]] = "planned"
    for step, st in state.steps.items():
        name = PHASE_NAMES[st.phase]
        if st.phase is Phase.NEW and st.attempt:
            name = f"repair scheduled (attempt {st.attempt + 1})"
        elif st.attempt > 1 and st.phase is not Phase.NEW:
            name = f"{name} (attempt {st.attempt})"
        steps[step] = name
    return state.status.value, dict(sorted(steps.items()))


def _stamp(snapshot: Snapshot) -> str:
    when = snapshot.event.time
    return f"{when[:10]} {when[11:19]}" if when else ""


def plan_view(ledger: Ledger, plan_id: str) -> PlanView | None:
    """One plan with its forks and steps; None when there is no such plan."""
    tip = ledger.tip(refs.plan_log(plan_id))
    if tip is None:
        return None
    info = json.loads(tip.read_text(PLAN_FILE) or "{}")
    source = str(info.get("source"))
    view = PlanView(
        id=plan_id,
        goal=str(info.get("goal", "")),
        state=tip.event.state or "running",
        created=str(info.get("created", "")),
        origin=source.removeprefix("fork:") if source.startswith("fork:") else None,
    )
    for fork_id in ledger.forks(plan_id):
        ref = refs.fork_log(plan_id, fork_id)
        fork_tip = ledger.tip(ref)
        if fork_tip is None:
            continue
        state, steps = step_states(ledger, ref, fork_tip, plan_id, fork_id)
        view.forks.append(
            ForkView(
                id=fork_id,
                state=state,
                branch=refs.short_branch(plan_id, fork_id),
                steps=steps,
                last_event=fork_tip.event.type.value,
                updated=_stamp(fork_tip),
            )
        )
    return view


def collect(ledger: Ledger) -> list[PlanView]:
    """Every plan; one whose records cannot be read is listed with the error, not skipped."""
    views = []
    for plan_id in ledger.plans():
        try:
            view = plan_view(ledger, plan_id)
        except (ConductorError, ValueError) as exc:
            message = exc.message if isinstance(exc, ConductorError) else str(exc)
            view = PlanView(plan_id, "", "unreadable", "", error=message)
        if view is not None:
            views.append(view)
    return views


@dataclass
class StatusReport(Report):
    plans: list[PlanView]

    def to_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.plans]

    def render(self) -> str:
        return render(self.plans)


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
        out.append(f"plan {plan.id}  [{plan.state}]  {plan.goal}{origin}")
        if plan.error is not None:
            out.append(f"  {plan.error}")
            out.append(f"  (end it with `conductor abandon {plan.id}`)")
            continue
        rows = []
        for fork in plan.forks:
            counts: dict[str, int] = {}
            for state in fork.steps.values():
                base = state.split(" (", 1)[0]
                counts[base] = counts.get(base, 0) + 1
            summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no steps yet"
            rows.append([f"fork {fork.id}", f"[{fork.state}]", fork.branch, summary, fork.updated])
            for step, state in fork.steps.items():
                rows.append(["", "", f"  {step}", state, ""])
        if rows:
            out.append(table(rows, indent="  "))
        else:
            out.append("  no forks yet")
    return "\n".join(out)
