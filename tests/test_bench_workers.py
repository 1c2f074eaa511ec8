"""The worker benchmarks run at their smallest sizes and print their tables and verdicts:
bench/worker_throughput.py (real `conductor explore --remote` and `conductor worker`s on a local
bare remote) and bench/claim_cost.py (claim pushes on remotes that have seen many plans)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # real coordinators, workers and remotes


def bench(tmp_path: Path, name: str, *sizes: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *sizes],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # its repositories go where pytest cleans up
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_worker_throughput_prints_steps_per_second_latency_and_lost_races_per_worker_count(
    tmp_path: Path,
) -> None:
    # 4 steps of 0.5 s: 2 forks of 2 steps for one worker, 4 forks of 1 step for two
    out = bench(
        tmp_path, "worker_throughput.py", "--steps", "4", "--workers", "1", "2", "--step-seconds", "0.5"
    )
    assert "worker throughput: 4 steps of 0.5 s each" in out, out
    assert "cores available:" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"]
    for row in rows:
        steps_per_second, dispatch, left = float(row[2]), float(row[6]), int(row[-1])
        # 0.5-s steps: fewer than one step each 2.8 s (the step and 2.3 s more, as 0.3 steps/s allowed
        # of 1-s steps) means the workers did not run side by side
        assert steps_per_second > 0.35
        assert (
            dispatch < 2.0
        )  # seconds, from a task and a free worker to the claim (the old poll alone was 2 s)
        assert left == 0  # the coordinator removed every queue ref
    assert "result: " in out


def test_claim_cost_compares_remotes_that_have_seen_many_plans_with_an_empty_queue(tmp_path: Path) -> None:
    out = bench(tmp_path, "claim_cost.py", "--plans", "300", "--claims", "3")  # 300: two archive commits
    assert "a claim push on a remote after 300 finished plans" in out and "(median of 3 claims each;" in out
    names = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and "x  " in line]
    assert names == ["empty", "finished+cleanup", "plan", "plan", "plan", "no"]
    archived = next(line for line in out.splitlines() if line.strip().startswith("plan logs archived"))
    assert archived.split()[3] == "2"  # the branch and the archive ref: the live logs are gone
    cleanup = next(line for line in out.splitlines() if line.strip().startswith("finished+cleanup"))
    assert cleanup.split()[1] == "1"  # the cleanup left only the branch on the remote
    logs = next(line for line in out.splitlines() if line.strip().startswith("plan logs "))
    assert logs.split()[2] == "301"  # the branch and a log ref a plan
    kept = next(line for line in out.splitlines() if line.strip().startswith("no cleanup"))
    assert kept.split()[2] == "901"  # the branch and the task, claim and result refs of each plan
    assert "result: " in out
