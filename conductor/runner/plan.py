"""Running a plan: its forks, a lock so one process runs it at a time, plan-level events,
and the mailbox's shared files (PROTOCOL.md, metrics.json)."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.resources
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conductor.engine.state import ForkStatus
from conductor.errors import ConductorError
from conductor.executors.base import Executor
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.mailbox import write_atomic
from conductor.models.event import Event, EventType
from conductor.runner import metrics
from conductor.runner.fork import ForkRunner, RunOptions
from conductor.runner.planning import PlanRecord, ensure_fork

PLAN_EVENTS = {
    "completed": EventType.PLAN_COMPLETED,
    "failed": EventType.PLAN_FAILED,
    "halted": EventType.PLAN_HALTED,
}


@dataclass
class PlanOutcome:
    plan: str
    state: str
    forks: dict[str, ForkStatus]


@contextlib.contextmanager
def plan_lock(git_dir: Path, plan: str) -> Iterator[None]:
    """Hold the plan's lock; a second process running the same plan is refused, not raced."""
    path = git_dir / "conductor" / "locks" / f"{plan}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise ConductorError(
                f"plan {plan} is being run by {owner}",
                hint="wait for it to finish, or stop it (Ctrl-C) and run `conductor resume`",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"conductor pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock, also when the process dies


def handoff_dir(repo_root: Path) -> Path:
    return repo_root / ".conductor" / "handoff"


def write_protocol(repo_root: Path) -> None:
    text = importlib.resources.files("conductor.templates").joinpath("PROTOCOL.md").read_text("utf-8")
    target = handoff_dir(repo_root) / "PROTOCOL.md"
    if not target.exists() or target.read_text("utf-8") != text:
        write_atomic(target, text)


def write_metrics(ledger: Ledger, repo_root: Path) -> None:
    write_atomic(
        handoff_dir(repo_root) / "metrics.json", json.dumps(metrics.compute(ledger), indent=2) + "\n"
    )


def plan_state(forks: dict[str, ForkStatus]) -> str:
    values = set(forks.values())
    if ForkStatus.HALTED in values or ForkStatus.RUNNING in values:
        return "halted"
    if ForkStatus.COMPLETED in values:
        return "completed"
    return "failed"


def run_plan(
    ledger: Ledger,
    plan: PlanRecord,
    executor: Executor,
    *,
    repo_root: Path,
    options: RunOptions,
) -> PlanOutcome:
    with plan_lock(ledger.git_dir, plan.id):
        write_protocol(repo_root)
        plan_ref = refs.plan_log(plan.id)
        tip = ledger.tip(plan_ref)
        if tip is not None and (
            tip.event.state == "halted" or (options.resuming and tip.event.state == "running")
        ):
            ledger.append(
                plan_ref, Event(EventType.PLAN_RESUMED, plan=plan.id, summary="resumed", state="running")
            )
        statuses: dict[str, ForkStatus] = {}
        try:
            for fork in plan.spec.forks:
                ensure_fork(ledger, plan, fork)
                runner = ForkRunner(ledger, plan, fork.id, executor, repo_root=repo_root, options=options)
                statuses[fork.id] = runner.run()
        except KeyboardInterrupt:
            ledger.append(
                plan_ref, Event(EventType.PLAN_HALTED, plan=plan.id, summary="interrupted", state="halted")
            )
            raise
        finally:
            with contextlib.suppress(ConductorError, OSError):
                write_metrics(ledger, repo_root)
        state = plan_state(statuses)
        summary = ", ".join(f"{fork} {status.value}" for fork, status in statuses.items())
        current = ledger.tip(plan_ref)
        if current is None or current.event.state != state:
            ledger.append(
                plan_ref,
                Event(
                    PLAN_EVENTS[state],
                    plan=plan.id,
                    summary=summary,
                    state=state,
                    data={"forks": {k: v.value for k, v in statuses.items()}},
                ),
            )
        return PlanOutcome(plan.id, state, statuses)
