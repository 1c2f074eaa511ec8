"""bench/build_scale.py runs (issue 21, point 6): at its smallest sizes it prints a one-step build
at 3 plans against the same at 2 (each repository with copied plans), and `explain` on a 3-step
fork against a 2-step one (through the CLI and in process), each with its ratio (and goal), and
removes what it made."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, run_process

BENCH = str(ROOT / "bench" / "build_scale.py")


@pytest.mark.slow
def test_the_build_scale_bench_prints_its_ratios(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repositories go where pytest cleans up
    sizes = ("--plans", "2", "3", "--steps", "2", "3", "--rounds", "1", "--warmup", "0")
    result = run_process(PYTHON, BENCH, *sizes, env=env, timeout=600)
    assert result.code == 0, result.err
    assert re.search(r"^handoff-metrics --recompute over 3 plans: [\d.]+ s", result.out, re.M)
    for rows in ((r"2 plans", r"3 plans"), (r"2-step fork", r"3-step fork")):
        for row in rows:
            assert re.search(rf"^  {row} +[\d.]+ ms$", result.out, re.M), (row, result.out)
    goals = re.findall(r"^  ratio: [\d.]+x  \(goal <= 1\.2x: (?:ok|OVER GOAL)\)$", result.out, re.M)
    assert len(goals) == 2, result.out  # the build, and explain through the CLI
    view = result.out.split("explain step_001 in process", 1)[1]
    assert re.search(r"^  ratio: [\d.]+x$", view, re.M), result.out
    assert "writing 2 and 3 plans..." in result.err
    assert list(tmp_path.glob("conductor-bench-*")) == []  # it removes its repositories
