"""Ending a plan (or one fork) that will not be finished (`conductor abandon`): whatever its
records say — a step that can never pass, a log a command cannot read — the end is recorded
with its reason, so `status` stops showing it as running and `clean` can remove its files.

Only the tips of the logs are read (their states, and an ending fork's folded state, which its
ForkLog keeps with the end), never the plan's records in full, so a plan whose records break
other commands can still be ended.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from conductor.errors import ConductorError, NotFoundError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.project import find_root
from conductor.runner.logs import forklog, planlog
from conductor.runner.logs.forklog import ForkLog
from conductor.runner.logs.planlock import plan_lock
from conductor.runner.logs.planlog import PlanLog
from conductor.runner.logs.plans import FINISHED
from conductor.runner.plan.scheduler import write_metrics


@dataclass
class Abandoned:
    """What `abandon` ended: the forks, those that had ended before, the plan's state after."""

    plan: str
    reason: str
    forks: list[str] = field(default_factory=list)  # the forks this ended
    already: list[str] = field(default_factory=list)  # forks that had ended before
    plan_state: str = ""  # the plan's state afterwards


def abandon(plan: str, *, fork: str | None, reason: str) -> Abandoned:
    root = find_root()
    ledger = Ledger(root)
    plan_ref = refs.plan_log(plan)
    plan_tip = ledger.tip(plan_ref)
    forks = ledger.forks(plan)
    if plan_tip is None and not forks:
        raise NotFoundError(f"no plan '{plan}'", hint="`conductor status` lists the plans")
    if fork is not None and fork not in forks:
        raise NotFoundError(
            f"plan {plan} has no fork {fork}", hint=f"its forks: {', '.join(forks) or 'none'}"
        )
    why = reason or "abandoned by a person"
    result = Abandoned(plan, why)
    with plan_lock(ledger.git_dir, plan):  # refused while a live process runs the plan
        states = {}
        for fork_id in forks:
            state = forklog.state_of(ledger.tip(refs.fork_log(plan, fork_id)))
            if (fork is None or fork_id == fork) and state not in FINISHED:
                log = ForkLog(ledger, plan, fork_id)
                log.record(EventType.FORK_ABANDONED, why)
                state = log.state.status.value
                result.forks.append(fork_id)
            elif fork is None or fork_id == fork:
                result.already.append(fork_id)
            states[fork_id] = state
        plan_log = PlanLog(ledger, plan)
        current = result.plan_state = planlog.state_of(plan_tip)
        if all(state in FINISHED for state in states.values()) and current not in FINISHED:
            kind = EventType.PLAN_COMPLETED if "completed" in states.values() else EventType.PLAN_ABANDONED
            summary = ", ".join(f"{f} {s}" for f, s in states.items())
            plan_log.record(kind, summary, data={"reason": why, "forks": states})
            result.plan_state = plan_log.state
        with contextlib.suppress(ConductorError, OSError):  # its tasks count as abandoned at once
            write_metrics(ledger, root, plan)
    if not result.forks and fork is not None:
        raise ConductorError(f"fork {fork} of plan {plan} has finished already ({states[fork]})")
    return result
