"""Running a plan: its forks, a lock so one process runs it at a time, plan-level events (the
last one, for a plan with several forks, its comparison), and the mailbox's shared files
(PROTOCOL.md, metrics.json)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conductor import resources
from conductor.engine.state import ForkStatus
from conductor.errors import ConductorError
from conductor.executors.base import Executor
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.mailbox import METRICS_FILE, PROTOCOL_FILE, write_atomic
from conductor.models.event import EventType
from conductor.models.layout import PLAN_FILE
from conductor.models.plan import ForkSpec
from conductor.project import HANDOFF_DIR
from conductor.runner.fork.context import Fork, RunOptions
from conductor.runner.fork.forkrunner import ForkRunner
from conductor.runner.logs import planlog
from conductor.runner.logs.planlock import plan_lock
from conductor.runner.logs.planlog import PlanLog
from conductor.runner.logs.plans import PlanRecord, ensure_fork
from conductor.runner.views import compare, metrics

PLAN_EVENTS = {
    planlog.COMPLETED: EventType.PLAN_COMPLETED,
    planlog.FAILED: EventType.PLAN_FAILED,
    planlog.HALTED: EventType.PLAN_HALTED,
}


@dataclass
class PlanOutcome:
    plan: str
    state: str
    forks: dict[str, ForkStatus]


def write_protocol(repo_root: Path) -> None:
    text = resources.text(f"templates/{PROTOCOL_FILE}")
    target = repo_root / HANDOFF_DIR / PROTOCOL_FILE
    if not target.exists() or target.read_text("utf-8") != text:
        write_atomic(target, text)


def write_metrics(ledger: Ledger, repo_root: Path, plan: str) -> None:
    """Fold the plan's new events onto the metrics the ledger keeps (runner/logs/tally.py: what
    this costs follows the run, not the history), and project them into the mailbox."""
    project_metrics(repo_root, metrics.refresh(ledger, plan))


def project_metrics(repo_root: Path, data: dict[str, Any]) -> None:
    """`.conductor/handoff/metrics.json`: the metrics, as `handoff-metrics --json` shows them."""
    write_atomic(repo_root / HANDOFF_DIR / METRICS_FILE, json.dumps(data, indent=2) + "\n")


def plan_state(forks: dict[str, ForkStatus]) -> str:
    values = set(forks.values())
    if ForkStatus.HALTED in values or ForkStatus.RUNNING in values:
        return "halted"
    if ForkStatus.COMPLETED in values:
        return "completed"
    return "failed"


Spawner = Callable[[PlanRecord, list[tuple[ForkSpec, str]]], ForkSpec | None]
"""Dynamic forking: given the plan and its failed forks (with reasons), a new strategy or None."""


def run_plan(
    ledger: Ledger,
    plan: PlanRecord,
    executor: Executor,
    *,
    repo_root: Path,
    options: RunOptions,
    jobs: int = 1,
    spawner: Spawner | None = None,
    max_spawns: int = 1,
) -> PlanOutcome:
    """Run every fork not finished yet, up to `jobs` at a time."""
    with plan_lock(ledger.git_dir, plan.id):
        write_protocol(repo_root)
        plan_log = PlanLog(ledger, plan.id)
        before = plan_log.state
        if before == planlog.HALTED or (options.resuming and before == planlog.RUNNING):
            plan_log.record(EventType.PLAN_RESUMED, "resumed")
        statuses: dict[str, ForkStatus] = {}
        failures: list[tuple[ForkSpec, str]] = []
        spawned = 0

        def run_fork(fork: ForkSpec) -> ForkStatus:
            ensure_fork(ledger, plan, fork)
            return ForkRunner(
                Fork(ledger, plan, fork.id, executor, repo_root=repo_root, options=options)
            ).run()

        pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="fork")
        try:
            running = {pool.submit(run_fork, fork): fork for fork in plan.spec.forks}
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    fork = running.pop(future)
                    statuses[fork.id] = future.result()
                    if statuses[fork.id] is not ForkStatus.FAILED or spawner is None or spawned >= max_spawns:
                        continue
                    if options.stop.is_set():
                        continue
                    failures.append((fork, _failure_reason(ledger, plan.id, fork.id)))
                    new = spawner(plan, failures)
                    if new is None:
                        continue
                    spawned += 1
                    plan.spec = plan.spec.model_copy(update={"forks": [*plan.spec.forks, new]})
                    plan_log.record(
                        EventType.FORK_SPAWNED,
                        f"new strategy after {fork.id} failed: {new.strategy}",
                        fork=new.id,
                        data={"after": [f.id for f, _ in failures], "strategy": new.strategy},
                        changes={PLAN_FILE: plan.dumps()},
                    )
                    options.say(f"[{plan.id}] spawned fork {new.id} after {fork.id} failed: {new.strategy}")
                    running[pool.submit(run_fork, new)] = new
        except KeyboardInterrupt:
            options.stop.set()  # every fork halts at its next step
            pool.shutdown(wait=True)
            plan_log.record(EventType.PLAN_HALTED, "interrupted")
            raise
        finally:
            pool.shutdown(wait=True)
            with contextlib.suppress(ConductorError, OSError):
                write_metrics(ledger, repo_root, plan.id)
        state = plan_state(statuses)
        summary = ", ".join(f"{fork} {status.value}" for fork, status in statuses.items())
        if plan_log.state != state:
            plan_log.record(
                PLAN_EVENTS[state], summary, data={"forks": {k: v.value for k, v in statuses.items()}}
            )
        compare.record_comparison(ledger, plan.id, state)  # every run of explore, resume, approve
        return PlanOutcome(plan.id, state, statuses)


def _failure_reason(ledger: Ledger, plan: str, fork: str) -> str:
    tip = ledger.tip(refs.fork_log(plan, fork))
    return tip.event.summary if tip is not None else "failed"
