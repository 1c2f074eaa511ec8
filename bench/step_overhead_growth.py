"""Conductor's own time per step as a fork's history grows (issue 13, point 2). Goal: the
overhead of a step around step 200 within 1.2x of the same around step 10 — the cost of one
step must not depend on how many came before.

One fork of STEPS trivial steps runs through the fork runner as `conductor build --yes` runs
it (bench/step_overhead.py's way): an in-process agent writes one small new file per step and
its result straight into the mailbox, and times itself; there are no verify commands and no
approval gate. A step's overhead is its wall time minus the agent's. Each figure is the median
over a window of steps around the step named, over ROUNDS forks (a fresh repository each).
Beside it, the CPU time of this process per step (git's processes not counted): on a shared
machine the wall time of a step also measures the neighbours, its CPU time hardly does, so
it shows a growth with history, or its absence, when the wall times are noisy.

With --cli, the same fork also runs through the command line: `conductor build --exec AGENT
--yes` in a `conductor init` project, the agent a shell command that writes the step's file
(the command executor, in the sandbox where there is one). Each figure there is a whole
step's wall time, between the lines that say two steps were accepted.

    python bench/step_overhead_growth.py            # 210 steps, 3 rounds
    python bench/step_overhead_growth.py --quick    # 30 steps, 1 round (a smoke run)
    python bench/step_overhead_growth.py --cli      # also through `conductor build`
    python bench/step_overhead_growth.py --profile  # also: where the time of the last round goes
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BIN, ENV, git, workdir, write_completed
from step_overhead import step_times

from conductor.executors.base import Assignment, Outcome
from conductor.executors.registry import Capabilities
from conductor.models.plan import StepSpec

STEPS = 210
ROUNDS = 3
QUICK_STEPS = 30
WINDOW = 5  # steps each side of the one named
GOAL = 1.2
FILES = 200  # a small repository: the history is what grows, not the checkout
CLI_AGENT = 'mkdir -p new && printf "value = 1\\n" > "new/$CONDUCTOR_STEP.py"'


class NewFileAgent:
    """An agent that writes one new small file at once and keeps the time it spent."""

    name = "bench"
    # works in Conductor's own process, like the model's edits
    capabilities = Capabilities(starts_process=False, hands_out_files=False, sandboxed=True, uses_model=False)
    scratch: tuple[str, ...] = ()
    network_hosts: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.spent: list[float] = []
        self.cpu: list[float] = []

    def identity(self) -> tuple[str, str]:
        return ("bench agent", "bench@example.com")

    def settings(self) -> dict[str, Any]:
        return {"executor": "bench"}

    def execute(self, assignment: Assignment) -> Outcome:
        start, cpu = time.perf_counter(), time.process_time()
        assignment.on_claim({"executor": self.name})
        step = assignment.step
        target = assignment.workspace / assignment.task.allowed_files[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"# written by {step}\nvalue = {len(self.spent)}\n")
        write_completed(assignment.mailbox, step, assignment.task.attempt)
        self.spent.append(time.perf_counter() - start)
        self.cpu.append(time.process_time() - cpu)
        return Outcome.RESULT


def make_repo(name: str) -> Path:
    root = workdir(name)
    git(root, "init", "-q")
    for i in range(FILES):
        directory = root / f"pkg{i // 100:02d}"
        directory.mkdir(exist_ok=True)
        (directory / f"mod{i % 100:03d}.py").write_text(f"x = {i}\n")
    git(root, "add", "-A")
    git(root, "-c", "gc.auto=0", "commit", "-q", "-m", "base")
    return root


def one_fork(steps: int, round: int) -> tuple[list[float], list[float]]:
    """Conductor's overhead of each step of one fork of `steps` steps, in order (seconds): wall
    time, and this process's CPU time."""
    root = make_repo(f"growth-{round}")
    specs = [
        StepSpec(title=f"add {i}", instruction=f"add module {i}", allowed_files=[f"new/m{i:04d}.py"])
        for i in range(1, steps + 1)
    ]
    agent, cpu = NewFileAgent(), []
    walls = step_times(root, f"growth-{round}", specs, agent, cpu=cpu)
    return (
        [wall - spent for wall, spent in zip(walls, agent.spent, strict=True)],
        [used - spent for used, spent in zip(cpu, agent.cpu, strict=True)],
    )


def cli_fork(steps: int, round: int) -> list[float]:
    """The wall time of each step of one fork run by `conductor build` (the first unknown: 0)."""
    base = workdir(f"growth-cli-{round}")
    conductor = str(BIN / "conductor")
    subprocess.run([conductor, "init", "proj"], cwd=base, env=ENV, check=True, capture_output=True)
    root = base / "proj"
    planned = [
        {"title": f"add {i}", "instruction": f"add module {i}", "allowed_files": [f"new/step_{i:03d}.py"]}
        for i in range(1, steps + 1)
    ]
    (root / "plan.yaml").write_text(json.dumps({"goal": "bench", "steps": planned}))  # JSON is YAML
    git(root, "add", "plan.yaml")
    git(root, "commit", "-q", "-m", "plan")
    command = [conductor, "build", "--plan", "plan.yaml", "--exec", CLI_AGENT, "--yes"]
    proc = subprocess.Popen(
        command, cwd=root, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    accepted, said = [], []
    for line in proc.stdout:
        said.append(line)
        if ": accepted, commit" in line:
            accepted.append(time.perf_counter())
    if proc.wait() != 0 or len(accepted) != steps:
        raise SystemExit(f"conductor build failed:\n{''.join(said[-20:])}")
    return [0.0, *(b - a for a, b in itertools.pairwise(accepted))]


def marks(steps: int) -> list[int]:
    """The steps reported: ~10, 50, 100, 200, as far as the fork goes (the last window whole)."""
    last = steps - WINDOW
    shown = [m for m in (10, 50, 100, 200) if m <= last]
    return [*shown, last] if not shown or (steps < 200 + WINDOW and shown[-1] < last) else shown


def window(overheads: list[list[float]], step: int) -> float:
    """The median overhead of steps step-WINDOW .. step+WINDOW (1-based) over every round."""
    lo, hi = max(2, step - WINDOW), step + WINDOW  # step 1 pays for the worktree checkout
    return statistics.median(o for run in overheads for o in run[lo - 1 : hi])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps, one round")
    parser.add_argument("--steps", type=int, help=f"steps in the fork (default {STEPS})")
    parser.add_argument("--rounds", type=int, help=f"forks measured (default {ROUNDS})")
    parser.add_argument("--cli", action="store_true", help="also run the fork through `conductor build`")
    parser.add_argument("--profile", action="store_true", help="profile the last round (cProfile)")
    args = parser.parse_args()
    steps = args.steps or (QUICK_STEPS if args.quick else STEPS)
    rounds = args.rounds or (1 if args.quick else ROUNDS)
    os.environ.update({k: v for k, v in ENV.items() if k.startswith("GIT_")})
    overheads, cpu = [], []
    profiler = cProfile.Profile() if args.profile else None
    for round in range(rounds):
        print(f"round {round + 1} of {rounds}: one fork of {steps} steps...", file=sys.stderr)
        if profiler is not None and round == rounds - 1:
            profiler.enable()
        wall, used = one_fork(steps, round)
        overheads.append(wall)
        cpu.append(used)
        if profiler is not None:
            profiler.disable()
    shown = marks(steps)
    first, first_cpu = window(overheads, shown[0]), window(cpu, shown[0])
    print(f"Conductor's own time per step as the fork grows ({steps} steps, {rounds} round(s);")
    print(f"median of steps n-{WINDOW}..n+{WINDOW}; the agent's time excluded)")
    for step in shown:
        value, used = window(overheads, step), window(cpu, step)
        print(
            f"  step {step:>4}: {value * 1000:7.1f} ms per step   ({value / first:.2f}x step {shown[0]})"
            f"   CPU {used * 1000:6.1f} ms ({used / first_cpu:.2f}x)"
        )
    ratio = window(overheads, shown[-1]) / first
    verdict = "ok" if ratio <= GOAL else "OVER GOAL"
    print(f"  step {shown[-1]} / step {shown[0]}: {ratio:.2f}x (goal <= {GOAL}x: {verdict})")
    cpu_ratio = window(cpu, shown[-1]) / first_cpu
    print(f"  CPU time, step {shown[-1]} / step {shown[0]}: {cpu_ratio:.2f}x", flush=True)
    if args.cli:
        walls = []
        for round in range(rounds):
            print(f"round {round + 1} of {rounds}: conductor build of {steps} steps...", file=sys.stderr)
            walls.append(cli_fork(steps, round))
        first = window(walls, shown[0])
        print(
            "Through the CLI: conductor build --exec CMD --yes, a whole step"
            f" (median of n-{WINDOW}..n+{WINDOW})"
        )
        for step in shown:
            value = window(walls, step)
            print(
                f"  step {step:>4}: {value * 1000:7.1f} ms per step   ({value / first:.2f}x step {shown[0]})"
            )
        ratio = window(walls, shown[-1]) / first
        print(f"  step {shown[-1]} / step {shown[0]}: {ratio:.2f}x", flush=True)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())


if __name__ == "__main__":
    main()
