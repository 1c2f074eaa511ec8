"""`conductor status`: every plan and fork with its state, read from the ledger tips."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.output import table

STEP_DIRS = ("pending", "in_progress", "completed", "failed")
TASK_SUFFIX = ".task.json"


@dataclass
class ForkStatus:
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
class PlanStatus:
    id: str
    goal: str
    state: str
    created: str
    forks: list[ForkStatus] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "goal": self.goal,
            "state": self.state,
            "created": self.created,
            "forks": [f.to_json() for f in self.forks],
        }


def step_states(snapshot: Snapshot) -> dict[str, str]:
    """Each step's state: the handoff directory its task file is in at this snapshot."""
    states: dict[str, str] = {}
    for directory in STEP_DIRS:
        for name in snapshot.listdir(directory):
            if name.endswith(TASK_SUFFIX):
                states[name[: -len(TASK_SUFFIX)]] = directory
    return dict(sorted(states.items()))


def _stamp(snapshot: Snapshot) -> str:
    when = snapshot.event.time
    return f"{when[:10]} {when[11:19]}" if when else ""


def collect(ledger: Ledger) -> list[PlanStatus]:
    plans = []
    for plan_id in ledger.plans():
        tip = ledger.tip(refs.plan_log(plan_id))
        if tip is None:
            continue
        info = json.loads(tip.read_text("plan.json") or "{}")
        status = PlanStatus(
            id=plan_id,
            goal=str(info.get("goal", "")),
            state=_state(ledger, refs.plan_log(plan_id), tip),
            created=str(info.get("created", "")),
        )
        for fork_id in ledger.forks(plan_id):
            fork_tip = ledger.tip(refs.fork_log(plan_id, fork_id))
            if fork_tip is None:
                continue
            status.forks.append(
                ForkStatus(
                    id=fork_id,
                    state=_state(ledger, refs.fork_log(plan_id, fork_id), fork_tip),
                    branch=refs.short_branch(plan_id, fork_id),
                    steps=step_states(fork_tip),
                    last_event=fork_tip.event.type.value,
                    updated=_stamp(fork_tip),
                )
            )
        plans.append(status)
    return plans


def _state(ledger: Ledger, ref: str, tip: Snapshot) -> str:
    """The latest state an event of this log set (not every event changes the state)."""
    if tip.event.state:
        return tip.event.state
    for event in ledger.log(ref):
        if event.state:
            return event.state
    return "created"


def render(plans: list[PlanStatus]) -> str:
    if not plans:
        return (
            "No plans yet.\n"
            'Start one with `conductor build "<goal>"` or `conductor explore "<goal>"`,'
            " or see it all in a throwaway project with `conductor demo`."
        )
    out = []
    for plan in plans:
        out.append(f"plan {plan.id}  [{plan.state}]  {plan.goal}")
        rows = []
        for fork in plan.forks:
            counts: dict[str, int] = {}
            for state in fork.steps.values():
                counts[state] = counts.get(state, 0) + 1
            summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no steps yet"
            rows.append([f"fork {fork.id}", f"[{fork.state}]", fork.branch, summary, fork.updated])
            for step, state in fork.steps.items():
                rows.append(["", "", f"  {step}", state, ""])
        if rows:
            out.append(table(rows, indent="  "))
        else:
            out.append("  no forks yet")
    return "\n".join(out)
