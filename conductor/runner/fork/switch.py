"""Changing who does the rest of a plan (`conductor resume --executor/--exec/--remote/--llm`).

The change is recorded before anything runs: a `note` event in the plan log saying from what to
what, with the plan's record (plan.json) naming the new executor, which later resumes, approve
and revise use. An attempt the old executor was given and has not answered (handed out, or
claimed) ends as interrupted — which does not count against max_attempts — and the next
attempt goes to the new executor, with a timeout of its own. A result the old executor already
left in the mailbox is never thrown away: the change is refused until it is verified.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conductor.engine.failures import FailureKind
from conductor.engine.state import FINAL, Phase
from conductor.errors import ConductorError
from conductor.executors.registry import describe
from conductor.ledger.store import Ledger
from conductor.mailbox import Mailbox
from conductor.models.event import EventType
from conductor.models.layout import IN_PROGRESS, PLAN_FILE, RESULT, WORKER
from conductor.progress import say
from conductor.project import HANDOFF_DIR
from conductor.runner.fork import verdicts
from conductor.runner.logs import forkstate
from conductor.runner.logs.planlock import plan_lock
from conductor.runner.logs.planlog import PlanLog
from conductor.runner.logs.plans import PlanRecord

if TYPE_CHECKING:
    from conductor.runner.fork.context import Fork

HANDED = (Phase.PENDING, Phase.CLAIMED)


def change_executor(ledger: Ledger, plan: PlanRecord, new: dict[str, Any], *, repo_root: Path) -> str:
    """Record that `plan` goes on with the executor whose settings are `new` (refused while
    another process runs the plan); returns the change, as the step failures say it."""

    change = f"from {describe(plan.executor)} to {describe(new)}"
    with plan_lock(ledger.git_dir, plan.id):
        _refuse_waiting_results(ledger, plan, repo_root, describe(plan.executor))
        PlanLog(ledger, plan.id).record(
            EventType.NOTE,
            f"executor changed {change} (conductor resume)",
            data={"executor": {"from": plan.executor, "to": new}},
            changes={PLAN_FILE: replace(plan, executor=new).dumps()},
        )
    plan.executor = new
    say(f"plan {plan.id}: executor changed {change}; later resumes keep it")
    return change


def _refuse_waiting_results(ledger: Ledger, plan: PlanRecord, repo_root: Path, old: str) -> None:
    for fork in plan.spec.forks:
        read = forkstate.read(ledger, plan.id, fork.id, only=())  # a completed step waits for nothing
        if read is None or read.state.status in FINAL:
            continue
        state = read.state
        mailbox = Mailbox(repo_root / HANDOFF_DIR, plan.id, fork.id)
        for step, current in state.steps.items():
            found = mailbox.find_result(step) if current.phase in HANDED else None
            if found is None:
                continue
            path = mailbox.path(found.directory, step, RESULT)
            raise ConductorError(
                f"{step} of fork {fork.id} has a result from the {old} executor waiting in {path};"
                " changing the executor now would throw it away",
                hint=f"resume with the executor it has (`conductor resume {plan.id}`) to verify it"
                " first, or delete that file to hand the step to the new executor",
            )


def hand_over(fork: Fork, step: str) -> None:
    """End the attempt the old executor was given (not counted); the next goes to the new one."""
    from conductor.executors.command import kill_leftover

    killed = kill_leftover(fork.mailbox.path(IN_PROGRESS, step, WORKER), workspace=fork.worktree.path)
    verdicts.fail_attempt(
        fork,
        step,
        fork.state.step(step).attempt,
        FailureKind.INTERRUPTED,
        f"the executor changed {fork.options.handover}: the step goes to the new one as a new attempt"
        + (" (the old command's processes were killed)" if killed else ""),
    )
