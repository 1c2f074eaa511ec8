"""bench/step_overhead_growth.py runs (issue 13, point 5): with a fork of 16 steps, the fewest
that give two rows (steps 10 and 11, each the median of the 5 steps on either side), it prints
its growth table in process, and with `--cli` through `conductor build` too."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, Result, run_process

BENCH = str(ROOT / "bench" / "step_overhead_growth.py")


def quick(tmp_path: Path, *extra: str) -> Result:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repositories go where pytest cleans up
    result = run_process(PYTHON, BENCH, "--quick", "--steps", "16", *extra, env=env)
    assert result.code == 0, result.err
    return result


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_step_growth_bench_prints_its_table(tmp_path: Path) -> None:
    result = quick(tmp_path)
    rows = re.findall(
        r"^  step +(\d+): +([\d.]+) ms per step +\(([\d.]+)x step 10\) +CPU +[\d.]+ ms \([\d.]+x\)$",
        result.out,
        re.M,
    )
    assert [int(step) for step, _, _ in rows] == [10, 11]
    assert all(float(ms) > 0 for _, ms, _ in rows) and rows[0][2] == "1.00"
    assert re.search(r"^  step 11 / step 10: [\d.]+x \(goal <= 1\.2x: (ok|OVER GOAL)\)$", result.out, re.M)
    assert re.search(r"^  CPU time, step 11 / step 10: [\d.]+x$", result.out, re.M)
    assert "one fork of 16 steps" in result.err
    assert "Through the CLI" not in result.out


@pytest.mark.slow
def test_the_step_growth_bench_runs_the_fork_through_the_cli_too(tmp_path: Path) -> None:
    result = quick(tmp_path, "--cli")
    cli = result.out.split("Through the CLI:", 1)[1]
    assert [int(step) for step in re.findall(r"^  step +(\d+): +[\d.]+ ms per step", cli, re.M)] == [10, 11]
    assert re.search(r"^  step 11 / step 10: [\d.]+x$", cli, re.M)
    assert "conductor build of 16 steps" in result.err
