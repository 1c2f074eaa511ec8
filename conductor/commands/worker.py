"""`conductor worker --remote NAME --exec CMD|--agent NAME`: do steps that plans run elsewhere
queue on a remote."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conductor.executors.registry import Agent
from conductor.ledger.message import format_time
from conductor.project import find_root
from conductor.report import Report, plural
from conductor.runner.remote.worker import WorkerRun, work

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class WorkerReport(Report):
    run: WorkerRun

    def to_json(self) -> c.Work:
        return {
            "done": [_done(task) for task in self.run.done],
            "lost_claims": self.run.lost,
            "skipped": self.run.skipped,
        }

    def render(self) -> str:
        r = self.run
        return (
            f"{plural(len(r.done), 'task')} done"
            + (f", {len(r.lost)} claimed by others" if r.lost else "")
            + (f", {len(r.skipped)} skipped (not signed with this worker's key)" if r.skipped else "")
        )


def _done(task: dict[str, Any]) -> c.WorkDone:
    """A task done, its result's status as its `state` and the claim's epoch seconds as times."""
    out: c.WorkDone = {
        "plan": str(task["plan"]),
        "fork": str(task["fork"]),
        "step": str(task["step"]),
        "attempt": int(task["attempt"]),
        "state": str(task["status"]),
        "claimed_at": _iso(float(task["claimed_at"])),
    }
    if "queued_at" in task:
        out["queued_at"] = _iso(float(task["queued_at"]))
        out["waited_seconds"] = float(task["waited_seconds"])
        out["dispatch_seconds"] = float(task["dispatch_seconds"])
    return out


def _iso(epoch: float) -> str:
    return format_time(dt.datetime.fromtimestamp(epoch, dt.UTC))


def run(
    *,
    remote: str,
    command: str | None,
    name: str | None,
    once: bool,
    poll_seconds: float,
    jobs: int = 1,
    agent: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
) -> WorkerReport:
    chosen = Agent(agent, model=model, base_url=base_url, root=find_root()) if agent else None
    return WorkerReport(
        work(
            remote=remote,
            command=command,
            agent=chosen,
            name=name,
            once=once,
            poll_seconds=poll_seconds,
            jobs=jobs,
        )
    )
