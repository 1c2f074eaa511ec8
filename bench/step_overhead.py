"""Conductor's own time per step — everything but the executor — on repositories of 1k, 20k
and 100k files. Targets: <= 50 ms at 20k files, and 100k <= 1.5x 1k (the cost must follow
the size of the change, not of the repository).

Each repository gets a plan of STEPS one-file steps. The executor is an in-process agent
that writes its file and its result straight into the mailbox, and times itself; Conductor's
overhead per step is the fork's wall time minus the agent's, over the steps after the first
(the first step pays for the worktree checkout, a per-fork cost reported separately).

Then the sandbox's cost: plans of one-file steps run by the real command executor (a shell
command that writes its file) with one verify command, on the 1k repository, in three ways:
`unconfined`, the baseline, as before the sandbox existed (the commands started directly:
no bubblewrap, no subreaper, no tripwire); `sandbox.mode: required` (bubblewrap around the
command and the verify run, with a home of their own, the host's private places hidden and the
default resource limits); `hosts` (the same, with the network by host list: the allowlist proxy
and the bridge inside the sandbox); and `off` (the fallback: a subreaper, and the tripwire's
checks of the checkout and .git around each). Rounds alternate between the ways; each figure
is the median of whole-step wall times, and the cost is its difference from the baseline's
(target for the sandbox, and for the network by host list: <= 20 ms per step).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV, git, workdir, write_completed

from conductor.executors.base import Assignment, Outcome
from conductor.executors.command import CommandExecutor
from conductor.executors.registry import Capabilities
from conductor.ledger.message import format_time
from conductor.ledger.store import Ledger, utc_now
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec
from conductor.runner.fork.context import Fork, RunOptions
from conductor.runner.fork.forkrunner import ForkRunner
from conductor.runner.logs.plans import PlanRecord, record_plan
from conductor.sandbox import bwrap
from conductor.sandbox.confinement import SHELL, Confinement, Launch

SIZES = (1_000, 20_000, 100_000)
STEPS = 21
SANDBOX_STEPS = 16
SANDBOX_ROUNDS = 3
AGENT = 'mkdir -p new && printf "value = 1\\n" > "new/$CONDUCTOR_STEP.py"'
SANDBOX_POLICY = """\
verify:
  commands: ['true']
sandbox:
  mode: {mode}
"""
FILES_PER_DIR = 100


class InstantAgent:
    """An agent that does its work at once and keeps the time it spent."""

    name = "bench"
    # works in Conductor's own process, like the model's edits
    capabilities = Capabilities(starts_process=False, hands_out_files=False, sandboxed=True, uses_model=False)
    scratch: tuple[str, ...] = ()
    network_hosts: tuple[str, ...] = ()

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
        write_completed(assignment.mailbox, step, assignment.task.attempt)
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


def step_times(
    root: Path,
    plan_id: str,
    steps: list[StepSpec],
    agent: Any,
    policy: str | None = None,
    cpu: list[float] | None = None,
) -> list[float]:
    """Run a one-fork plan of `steps` with `agent` (under the project `policy`, a policy.yaml
    text); the wall time of each step, in order (and into `cpu`, when given, this process's
    CPU time of each step)."""
    os.chdir(root)
    ledger = Ledger(root)
    spec = PlanSpec(goal="bench", forks=[ForkSpec(id="main", steps=steps)])
    base = git(root, "rev-parse", "HEAD").strip()
    plan = PlanRecord(
        id=plan_id,
        goal="bench",
        base=base,
        created=format_time(utc_now()),
        source="bench",
        spec=spec,
        policy_text=policy,
    )
    record_plan(ledger, plan)
    marks: list[float] = []
    cpu_marks: list[float] = []

    def mark(text: str) -> None:
        if "accepted" in text:
            marks.append(time.perf_counter())
            cpu_marks.append(time.process_time())

    runner = ForkRunner(
        Fork(
            ledger,
            plan,
            "main",
            agent,
            repo_root=root,
            options=RunOptions(yes=True, say=mark),
        )
    )
    start, cpu_start = time.perf_counter(), time.process_time()
    status = runner.run()
    assert status.value == "completed", status
    if cpu is not None:
        cpu_bounds = [cpu_start, *cpu_marks]
        cpu.extend(cpu_bounds[i + 1] - cpu_bounds[i] for i in range(len(steps)))
    bounds = [start, *marks]
    return [bounds[i + 1] - bounds[i] for i in range(len(steps))]


def measure(files: int) -> tuple[float, float]:
    root = make_repo(files)
    steps = [
        StepSpec(
            title=f"change {i}", instruction=f"change module {i}", allowed_files=[f"pkg0000/mod{i:03d}.py"]
        )
        for i in range(STEPS)
    ]
    agent = InstantAgent()
    walls = step_times(root, f"bench-{files}", steps, agent)
    per_step = [wall - spent for wall, spent in zip(walls, agent.spent, strict=True)]
    return statistics.median(per_step[1:]), per_step[0]


@contextlib.contextmanager
def bare_launch(
    confinement: Confinement,
    command: str,
    *,
    env: Mapping[str, str],
    writable: Sequence[Path] = (),
    **_: object,
) -> Iterator[Launch]:
    """How commands started before the sandbox: the shell, directly."""
    yield Launch([SHELL, "-c", command], dict(env), None, isolated=False)


@contextlib.contextmanager
def configured(way: str) -> Iterator[str]:
    """The policy text for `way`; for `unconfined`, Conductor as it was before the sandbox."""
    if way == "hosts":  # the sandbox, and the network by host list: the proxy and its bridge
        yield SANDBOX_POLICY.format(mode="required") + "  network: ['127.0.0.1:9']\n"
        return
    if way != "unconfined":
        yield SANDBOX_POLICY.format(mode=way)
        return
    with (
        mock.patch("conductor.executors.command.launch", bare_launch),
        mock.patch("conductor.checks.evidence.launch", bare_launch),
        mock.patch("conductor.runner.fork.tripwire.needed", lambda fork, step: False),
    ):
        yield SANDBOX_POLICY.format(mode="off")


def measure_sandbox(root: Path, ways: Sequence[str]) -> dict[str, float]:
    """Median wall time of a command-executor step with one verify command, each of `ways`."""
    steps = [
        StepSpec(title=f"add {i}", instruction=f"add module {i}", allowed_files=["new/*.py"])
        for i in range(SANDBOX_STEPS)
    ]
    walls: dict[str, list[float]] = {way: [] for way in ways}
    for round in range(SANDBOX_ROUNDS):
        for way in ways:
            with configured(way) as policy:
                times = step_times(root, f"{way}-{round}", steps, CommandExecutor(AGENT), policy)
            walls[way] += times[1:]
    return {way: statistics.median(times) for way, times in walls.items()}


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
    verdict = "ok" if ratio <= 1.5 else "OVER TARGET"
    print(f"  100k / 1k:    {ratio:.2f}x (target <= 1.5x: {verdict})", flush=True)
    reason = bwrap.unavailable()
    if reason is not None:
        print(f"Sandbox cost: not measured ({reason})")
        return
    print("measuring the sandbox...", file=sys.stderr)
    medians = measure_sandbox(make_repo(SIZES[0]), ("unconfined", "required", "hosts", "off"))
    base = medians["unconfined"]
    sandbox, fallback = (medians["required"] - base) * 1000, (medians["off"] - base) * 1000
    hosts = (medians["hosts"] - base) * 1000
    print("Command-executor step with one verify command, 1k files (whole step, median)")
    print(f"  unconfined (baseline):   {base * 1000:7.1f} ms per step")
    print(f"  sandbox (bubblewrap):    {medians['required'] * 1000:7.1f} ms per step  (+{sandbox:.1f} ms)")
    print(f"  sandbox, hosts by list:  {medians['hosts'] * 1000:7.1f} ms per step  (+{hosts:.1f} ms)")
    print(f"  fallback (sandbox: off): {medians['off'] * 1000:7.1f} ms per step  (+{fallback:.1f} ms)")
    verdict = "ok" if sandbox <= 20 else "OVER TARGET"
    print(f"  sandbox cost: {sandbox:.1f} ms per step (target <= 20 ms: {verdict})")
    verdict = "ok" if hosts <= 20 else "OVER TARGET"
    print(f"  with the network by host list: {hosts:.1f} ms per step (target <= 20 ms: {verdict})")


if __name__ == "__main__":
    main()
