"""The worker benchmarks run (`--quick`) and print their tables and verdicts: bench/worker_throughput.py
(real `conductor explore --remote` and `conductor worker`s on a local bare remote) and
bench/claim_cost.py (claim pushes on remotes that have seen many plans)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # real coordinators, workers and remotes: ~20 s and ~15 s


def bench(name: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_worker_throughput_prints_steps_per_second_latency_and_lost_races_per_worker_count() -> None:
    out = bench("worker_throughput.py")
    assert "cores available:" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"]
    for row in rows:
        steps_per_second, dispatch, left = float(row[2]), float(row[6]), int(row[-1])
        assert steps_per_second > 0.3  # 1-s steps: far slower means the workers did not run side by side
        assert (
            dispatch < 2.0
        )  # seconds, from a task and a free worker to the claim (the old poll alone was 2 s)
        assert left == 0  # the coordinator removed every queue ref
    assert "result: " in out


def test_claim_cost_compares_remotes_that_have_seen_many_plans_with_an_empty_queue() -> None:
    out = bench("claim_cost.py")
    names = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and "x  " in line]
    assert names == ["empty", "finished+cleanup", "plan", "plan", "plan", "no"]
    archived = next(line for line in out.splitlines() if line.strip().startswith("plan logs archived"))
    assert archived.split()[3] == "2"  # the branch and the archive ref: the live logs are gone
    cleanup = next(line for line in out.splitlines() if line.strip().startswith("finished+cleanup"))
    assert cleanup.split()[1] == "1"  # the cleanup left only the branch on the remote
    assert "result: " in out
