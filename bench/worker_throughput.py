"""Remote workers add throughput: a plan whose steps each take 1 s, queued on a local bare remote
by `conductor explore --remote`, done by 1, 2, 4 and 8 `conductor worker`s (each in its own
clone), or by one worker with `--jobs N` (`--jobs`).

Printed per worker count: steps/s (steps over the time from the first task queued to the last
step completed); the median time from queued to claimed while a worker was free to take the
task ("dispatch": from when both the task and a free job slot were there, which is what
polling costs) and its 90th percentile; the median time from queued to claimed overall (which
includes waiting for a busy worker: the plan queues more than N tasks at once); the claims
lost to another worker; the queue refs left on the remote. The times are the worker's own
(`queued_at`, `claimed_at`, recorded in `task.claimed`).
Goals (issue 13): >= 0.8 x N steps/s at N workers, up to the cores this machine has (beyond
them the coordinator's and the workers' own work compete for the CPU: printed, not judged);
median queued -> claimed (dispatch) under 0.3 s.

The plan has 2N forks, so that a worker finds a queued task while the coordinator verifies
and commits another fork's last result.

    python bench/worker_throughput.py            32 steps, 1/2/4/8 workers
    python bench/worker_throughput.py --quick    8 steps, 1 and 2 workers
    python bench/worker_throughput.py --jobs     one worker process with --jobs N instead
    python bench/worker_throughput.py --steps 4 --workers 1 2 --step-seconds 0.5   (the tests)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from _common import BIN, ENV, PYTHON, bench_plan, git, interruptible, workdir

from conductor.ledger import refs
from conductor.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "conductor" / "resources" / "fixtures" / "agents" / "scripted.py"
STEP_SECONDS = 1.0  # what each step's agent takes (sleeps)
REMOTE = ("--remote", "origin", "--yes", "--json")


def setup(root: Path, workers: int) -> list[Path]:
    """The project, its bare remote `origin`, and one clone per worker."""
    project, remote = root / "project", root / "remote.git"
    project.mkdir()
    git(project, "init", "-q")
    (project / "README.md").write_text("bench\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base")
    git(root, "init", "-q", "--bare", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    git(project, "push", "-q", "origin", "HEAD")
    clones = []
    for n in range(workers):
        clone = root / f"worker-{n}"
        git(root, "clone", "-q", str(remote), str(clone))
        clones.append(clone)
    return clones


def moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run(workers: int, total: int, *, jobs: bool, step_seconds: float) -> dict[str, float]:
    root = workdir("workers")
    clones = setup(root, 1 if jobs else workers)
    project = root / "project"
    forks = max(2, 2 * workers)
    steps = max(1, total // forks)
    script = {
        f"step_{s + 1:03d}": [{"sleep": step_seconds}, {"write": {f"out_{s}.txt": "x\n"}}]
        for s in range(steps)
    }
    (root / "script.json").write_text(json.dumps(script))
    (project / "plan.yaml").write_text(yaml.safe_dump(bench_plan(forks, steps)))
    command = f"{PYTHON} {AGENT} {root / 'script.json'}"
    procs = []
    for n, clone in enumerate(clones):
        args = [str(BIN / "conductor"), "worker", "--remote", "origin", "--exec", command, "--name", f"w{n}"]
        if jobs:
            args += ["--jobs", str(workers)]
        log = (root / f"worker-{n}.log").open("w")
        procs.append(
            subprocess.Popen(args, cwd=clone, env=ENV, stdout=log, stderr=log, preexec_fn=interruptible)
        )
    start = time.time()
    coordinator = subprocess.run(
        [
            str(BIN / "conductor"),
            "explore",
            "--plan",
            "plan.yaml",
            "--no-spawn",
            "--jobs",
            str(forks),
            *REMOTE,
        ],
        cwd=project,
        env=ENV,
        capture_output=True,
        text=True,
    )
    wall = time.time() - start
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if coordinator.returncode != 0:
        raise SystemExit(f"conductor explore failed: {coordinator.stderr[-3000:]}")
    plan_id = json.loads(coordinator.stdout)["plan"]
    lost = sum(
        (root / f"worker-{n}.log").read_text().count("was claimed by another worker")
        for n in range(len(procs))
    )
    ledger = Ledger(project)
    waits, dispatch, created, completed = [], [], [], []
    for fork in ledger.forks(plan_id):
        for event in ledger.log(refs.fork_log(plan_id, fork)):
            if event.type.value == "task.created":
                created.append(moment(event.time))
            elif event.type.value == "task.completed":
                completed.append(moment(event.time))
            elif event.type.value == "task.claimed":
                worker = event.data.get("worker", {})
                if "waited_seconds" in worker:
                    waits.append(float(worker["waited_seconds"]))
                    dispatch.append(float(worker["dispatch_seconds"]))
    done = len(completed)
    if done != forks * steps:
        raise SystemExit(f"{done} of {forks * steps} steps completed")
    span = max(completed) - min(created)
    left = Ledger(project).ref_names(refs.WORK_PREFIX)
    dispatch.sort()
    return {
        "steps": done,
        "forks": forks,
        "wall": wall,
        "span": span,
        "rate": done / span,
        "median_wait": statistics.median(waits) if waits else float("nan"),
        "dispatch": statistics.median(dispatch) if dispatch else float("nan"),
        "p90_dispatch": dispatch[int(0.9 * (len(dispatch) - 1))] if dispatch else float("nan"),
        "lost": lost,
        "left_refs": len(left) + len(git(root / "remote.git", "for-each-ref", refs.WORK_PREFIX).splitlines()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 steps, 1 and 2 workers")
    parser.add_argument("--jobs", action="store_true", help="one worker process with --jobs N")
    parser.add_argument("--steps", type=int, help="steps in each plan (default 32; --quick: 8)")
    parser.add_argument(
        "--workers", type=int, nargs="+", metavar="N", help="worker counts (default 1 2 4 8; --quick: 1 2)"
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=STEP_SECONDS,
        help=f"how long each step's agent takes (default {STEP_SECONDS:g})",
    )
    args = parser.parse_args()
    counts, total = ((1, 2), 8) if args.quick else ((1, 2, 4, 8), 32)
    counts, total = args.workers or counts, args.steps or total
    if min(counts) < 1 or total < 1 or args.step_seconds <= 0:
        parser.error("--steps and --workers take counts of at least 1, --step-seconds a positive time")
    step_seconds = args.step_seconds
    cores = os.cpu_count() or 1
    kind = "--jobs N in one worker" if args.jobs else "N worker processes, a clone each"
    print(f"worker throughput: {total} steps of {step_seconds:g} s each, {kind}, a local bare remote")
    print(f"cores available: {cores} (the throughput goal applies up to N = {cores})")
    print(
        f"{'N':>3} {'forks':>5} {'steps/s':>8} {'goal':>6} {'ok':>4} {'wall s':>7} {'dispatch':>9} {'p90':>6}"
        f" {'queued->claimed':>15} {'lost':>5} {'refs left':>9}"
    )
    failed = []
    for n in counts:
        r = run(n, total, jobs=args.jobs, step_seconds=step_seconds)
        goal = 0.8 * n / step_seconds
        judged = n <= cores
        ok = ("yes" if r["rate"] >= goal else "NO") if judged else "-"
        if judged and r["rate"] < goal:
            failed.append(f"{n} workers: {r['rate']:.2f} steps/s < {goal:.2f}")
        if r["dispatch"] >= 0.3:
            failed.append(f"{n} workers: median queued->claimed (dispatch) {r['dispatch']:.2f} s >= 0.3 s")
        if r["left_refs"]:
            failed.append(f"{n} workers: {r['left_refs']} queue refs left")
        print(
            f"{n:>3} {r['forks']:>5} {r['rate']:>8.2f} {goal:>6.2f} {ok:>4} {r['wall']:>7.1f}"
            f" {r['dispatch']:>7.3f} s {r['p90_dispatch']:>6.3f} {r['median_wait']:>13.3f} s"
            f" {r['lost']:>5} {r['left_refs']:>9}",
            flush=True,
        )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average now: {load} (other work on this machine slows the workers and the coordinator)")
    print("goals: >= 0.8 x N steps/s up to the cores; median dispatch < 0.3 s; no queue refs left")
    print("result: " + ("every goal met" if not failed else "missed: " + "; ".join(failed)))


if __name__ == "__main__":
    main()
