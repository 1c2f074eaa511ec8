"""bench/step_overhead_growth.py runs (issue 13, point 5): `--quick` prints its growth table."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.conftest import PYTHON, ROOT, run_process


def test_the_step_growth_bench_prints_its_table(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repositories go where pytest cleans up
    result = run_process(PYTHON, str(ROOT / "bench" / "step_overhead_growth.py"), "--quick", env=env)
    assert result.code == 0, result.err
    rows = re.findall(
        r"^  step +(\d+): +([\d.]+) ms per step +\(([\d.]+)x step 10\) +CPU +[\d.]+ ms \([\d.]+x\)$",
        result.out,
        re.M,
    )
    assert [int(step) for step, _, _ in rows] == [10, 25]
    assert all(float(ms) > 0 for _, ms, _ in rows) and rows[0][2] == "1.00"
    assert re.search(r"^  step 25 / step 10: [\d.]+x \(goal <= 1\.2x: (ok|OVER GOAL)\)$", result.out, re.M)
    assert re.search(r"^  CPU time, step 25 / step 10: [\d.]+x$", result.out, re.M)
    assert "one fork of 30 steps" in result.err
