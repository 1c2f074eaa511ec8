"""bench/build_scale.py runs (issue 21, point 6): `--quick` prints a one-step build at 200 plans
against the same at 10, and `explain` on a 30-step fork against a 10-step one (through the CLI
and in process), each with its ratio (and goal), and removes what it made."""

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
    result = run_process(PYTHON, BENCH, "--quick", "--rounds", "1", env=env, timeout=600)
    assert result.code == 0, result.err
    assert re.search(r"^handoff-metrics --recompute over 200 plans: [\d.]+ s", result.out, re.M)
    for rows in ((r"10 plans", r"200 plans"), (r"10-step fork", r"30-step fork")):
        for row in rows:
            assert re.search(rf"^  {row} +[\d.]+ ms$", result.out, re.M), (row, result.out)
    goals = re.findall(r"^  ratio: [\d.]+x  \(goal <= 1\.2x: (?:ok|OVER GOAL)\)$", result.out, re.M)
    assert len(goals) == 2, result.out  # the build, and explain through the CLI
    view = result.out.split("explain step_001 in process", 1)[1]
    assert re.search(r"^  ratio: [\d.]+x$", view, re.M), result.out
    assert "writing 10 and 200 plans..." in result.err
    assert list(tmp_path.glob("conductor-bench-*")) == []  # it removes its repositories
