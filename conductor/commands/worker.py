"""`conductor worker --remote NAME --exec CMD|--agent NAME`: do steps that plans run elsewhere
queue on a remote."""

from __future__ import annotations

from conductor.executors.registry import Agent
from conductor.project import find_root
from conductor.runner.remote.worker import WorkerReport, work


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
    return work(
        remote=remote,
        command=command,
        agent=chosen,
        name=name,
        once=once,
        poll_seconds=poll_seconds,
        jobs=jobs,
    )
