"""Helpers shared by the benchmark scripts: timing, temporary repositories, reporting."""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PYTHON = sys.executable
BIN = Path(PYTHON).parent

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    # the queue's tasks are signed (docs/workers.md): a bench's coordinator and workers share a key
    "CONDUCTOR_QUEUE_KEY": os.environ.get("CONDUCTOR_QUEUE_KEY") or secrets.token_hex(32),
}


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"conductor-bench-{prefix}-"))


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout


def interruptible() -> None:
    """Popen's preexec_fn for a process the bench stops with SIGINT (Ctrl-C), as a `conductor
    worker`: SIGINT back to its default, which a shell's background job starts with ignored (and
    a Python that finds it ignored keeps ignoring it: the bench would wait out its timeout)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def median_time(func: Callable[[], object], *, repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def interleaved(
    ours: Callable[[], object], base: Callable[[], object], *, rounds: int, warmup: int = 1
) -> tuple[float, float]:
    """Median times of `ours` and `base`, run alternately so that machine noise hits both, after
    `warmup` untimed runs of each."""
    for _ in range(warmup):
        ours()
        base()
    a, b = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        ours()
        a.append(time.perf_counter() - start)
        start = time.perf_counter()
        base()
        b.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def report(
    name: str, ours: float, base: float, target: float, *, unit: str = "ms", scale: float = 1000
) -> None:
    ratio = ours / base
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"{name}")
    print(f"  conductor: {ours * scale:9.2f} {unit}")
    print(f"  baseline:  {base * scale:9.2f} {unit}")
    print(f"  ratio:     {ratio:9.2f}x   (target <= {target}x: {verdict})")


def bench_plan(forks: int, steps: int) -> dict[str, object]:
    """A plan file's content: `forks` strategies of `steps` steps, each writing one file."""
    return {
        "goal": "bench",
        "forks": [
            {
                "id": f"fork-{f}",
                "strategy": f"strategy {f}",
                "steps": [
                    {"title": f"step {s}", "instruction": "write a file", "allowed_files": [f"out_{s}.txt"]}
                    for s in range(steps)
                ],
            }
            for f in range(forks)
        ],
    }


def write_completed(mailbox: Any, step: str, attempt: int) -> None:
    """What an in-process bench executor hands back: an explanation and a completed result."""
    from conductor.mailbox import write_atomic

    write_atomic(mailbox.path("completed", step, ".explanation.md"), "bench\n")
    result = {"task_id": step, "attempt": attempt, "status": "completed", "summary": "bench"}
    write_atomic(mailbox.path("completed", step, ".result.json"), json.dumps(result))
