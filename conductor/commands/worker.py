"""`conductor worker --remote NAME --exec CMD`: do steps that plans run elsewhere queue on a remote."""

from __future__ import annotations

from conductor.runner.worker import WorkerReport, work


def run(
    *, remote: str, command: str, name: str | None, once: bool, poll_seconds: float, jobs: int = 1
) -> WorkerReport:
    return work(remote=remote, command=command, name=name, once=once, poll_seconds=poll_seconds, jobs=jobs)
