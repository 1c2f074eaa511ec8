"""A reviewer's decision on a step that waits for approval (LOW confidence), for `conductor
approve STEP` and `conductor reject STEP`: found, then recorded in the fork log (through its
ForkLog, so the state its tip keeps stays its own)."""

from __future__ import annotations

from dataclasses import dataclass

from conductor.engine.state import Phase
from conductor.errors import ConductorError, NotFoundError
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.project import find_root
from conductor.runner.logs import forkstate
from conductor.runner.logs.forklog import ForkLog


@dataclass(frozen=True)
class Waiting:
    plan: str
    fork: str
    step: str
    attempt: int  # the attempt the request is for


def decide_options(plan: str, fork: str, *, several: bool) -> str:
    """How `conductor approve`/`reject` name a waiting step: `--plan P`, and `--fork F` when the
    plan has several forks (the same step may wait in more than one: --plan alone is refused)."""
    return f"--plan {plan}" + (f" --fork {fork}" if several else "")


def find_waiting(ledger: Ledger, step: str, *, plan: str | None, fork: str | None) -> Waiting:
    """The fork whose `step` waits for approval (plan and fork narrow it down)."""
    found = []
    for plan_id, forks in ledger.plans_and_forks(plan or None).items():
        for fork_id in [fork] if fork else forks:
            read = forkstate.read(ledger, plan_id, fork_id, only=())  # a waiting step is an open one
            if read is None:
                continue
            st = read.state.steps.get(step)
            if st is not None and st.phase is Phase.AWAITING_APPROVAL:
                found.append(Waiting(plan_id, fork_id, step, st.awaiting_attempt))
    if not found:
        raise NotFoundError(
            f"no {step} is waiting for approval" + (f" in plan {plan}" if plan else ""),
            hint="`conductor status` shows steps and their states",
        )
    if len(found) > 1:
        where = ", ".join(f"{w.plan}/{w.fork}" for w in found)
        first = found[0]
        raise ConductorError(
            f"{step} waits for approval in several forks: {where}",
            hint=f"say which with --plan and --fork, e.g. --plan {first.plan} --fork {first.fork}",
        )
    return found[0]


def record_decision(step: str, *, plan: str | None, fork: str | None, approve: bool, reason: str) -> Waiting:
    root = find_root()
    ledger = Ledger(root)
    waiting = find_waiting(ledger, step, plan=plan, fork=fork)
    who = "{} <{}>".format(*ledger.identity())
    kind = EventType.APPROVAL_GRANTED if approve else EventType.APPROVAL_DENIED
    verb = "approved" if approve else "rejected"
    ForkLog(ledger, waiting.plan, waiting.fork).record(
        kind,
        f"{verb} by {who}" + (f": {reason}" if reason else ""),
        step=step,
        attempt=waiting.attempt or None,
        data={"by": who, "reason": reason},
    )
    return waiting
