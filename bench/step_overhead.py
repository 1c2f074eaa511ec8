"""Conductor's own time per step — everything but the executor — on repositories of 1k, 20k
and 100k files. Targets: <= 50 ms at 20k files, and 100k <= 1.5x 1k (the cost must follow
the size of the change, not of the repository).

Each repository gets a plan of STEPS one-file steps. The executor is an in-process agent
that writes its file and its result straight into the mailbox, and times itself; Conductor's
overhead per step is the fork's wall time minus the agent's, over the steps after the first
(the first step pays for the worktree checkout, a per-fork cost reported separately).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV, git, workdir

from conductor.executors.base import Assignment, Outcome
from conductor.ledger.message import format_time
from conductor.ledger.store import Ledger, utc_now
from conductor.mailbox import write_atomic
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec
from conductor.runner.fork import Fork, RunOptions
from conductor.runner.forkrunner import ForkRunner
from conductor.runner.plans import PlanRecord, record_plan

SIZES = (1_000, 20_000, 100_000)
STEPS = 21
FILES_PER_DIR = 100


class InstantAgent:
    """An agent that does its work at once and keeps the time it spent."""

    name = "bench"

    def __init__(self) -> None:
        self.spent: list[float] = []

    def identity(self) -> tuple[str, str]:
        return ("bench agent", "bench@example.com")

    def settings(self) -> dict[str, Any]:
        return {"executor": "bench"}

    def execute(self, assignment: Assignment) -> Outcome:
        start = time.perf_counter()
        assignment.on_claim({"executor": self.name})
        step = assignment.step
        target = assignment.task.allowed_files[0]
        (assignment.workspace / target).write_text(f"# changed by {step}\nvalue = {len(self.spent)}\n")
        box = assignment.mailbox
        write_atomic(box.path("completed", step, ".explanation.md"), "bench\n")
        result = {
            "task_id": step,
            "attempt": assignment.task.attempt,
            "status": "completed",
            "summary": "bench",
        }
        write_atomic(box.path("completed", step, ".result.json"), json.dumps(result))
        self.spent.append(time.perf_counter() - start)
        return Outcome.RESULT


def make_repo(files: int) -> Path:
    root = workdir(f"steps-{files}")
    git(root, "init", "-q")
    for i in range(files):
        directory = root / f"pkg{i // FILES_PER_DIR:04d}"
        if i % FILES_PER_DIR == 0:
            directory.mkdir()
        (directory / f"mod{i % FILES_PER_DIR:03d}.py").write_text(f"x = {i}\n")
    git(root, "add", "-A")
    git(root, "-c", "gc.auto=0", "commit", "-q", "-m", "base")
    git(root, "gc", "-q")  # a repository that size lives packed
    return root


def measure(files: int) -> tuple[float, float]:
    root = make_repo(files)
    os.chdir(root)
    ledger = Ledger(root)
    steps = [
        StepSpec(
            title=f"change {i}", instruction=f"change module {i}", allowed_files=[f"pkg0000/mod{i:03d}.py"]
        )
        for i in range(STEPS)
    ]
    spec = PlanSpec(goal="bench", forks=[ForkSpec(id="main", steps=steps)])
    base = git(root, "rev-parse", "HEAD").strip()
    plan = PlanRecord(
        id=f"bench-{files}",
        goal="bench",
        base=base,
        created=format_time(utc_now()),
        source="bench",
        spec=spec,
    )
    record_plan(ledger, plan)
    agent = InstantAgent()
    marks: list[float] = []
    runner = ForkRunner(
        Fork(
            ledger,
            plan,
            "main",
            agent,
            repo_root=root,
            options=RunOptions(
                yes=True, say=lambda text: marks.append(time.perf_counter()) if "accepted" in text else None
            ),
        )
    )
    start = time.perf_counter()
    status = runner.run()
    assert status.value == "completed", status
    bounds = [start, *marks]
    per_step = [bounds[i + 1] - bounds[i] - agent.spent[i] for i in range(STEPS)]
    first = per_step[0]
    return statistics.median(per_step[1:]), first


def main() -> None:
    os.environ.update({k: v for k, v in ENV.items() if k.startswith("GIT_")})
    results = {}
    for files in SIZES:
        print(f"measuring {files} files...", file=sys.stderr)
        results[files] = measure(files)
    print("Conductor's own time per step (median of steps 2..21; the executor's time excluded)")
    for files, (steady, first) in results.items():
        line = f"  {files:>7} files: {steady * 1000:7.1f} ms per step"
        print(f"{line}   (first step, with checkout: {first:.2f} s)")
    at_20k = results[20_000][0] * 1000
    ratio = results[100_000][0] / results[1_000][0]
    print(f"  at 20k files: {at_20k:.1f} ms (target <= 50 ms: {'ok' if at_20k <= 50 else 'OVER TARGET'})")
    print(f"  100k / 1k:    {ratio:.2f}x (target <= 1.5x: {'ok' if ratio <= 1.5 else 'OVER TARGET'})")


if __name__ == "__main__":
    main()
