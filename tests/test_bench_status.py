"""bench/status_scale.py runs (issue 13, point 5): at its smallest sizes (1 and 2 plans) it prints
its growth table for status, status --all and events --limit 20, the goals, and the archive's
line."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, run_process


@pytest.mark.slow
def test_the_status_growth_bench_prints_its_table(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repositories go where pytest cleans up
    script = str(ROOT / "bench" / "status_scale.py")
    sizes = ("--sizes", "1", "2", "--rounds", "1", "--warmup", "0")
    result = run_process(PYTHON, script, *sizes, env=env, timeout=300)
    assert result.code == 0, result.err
    assert re.search(r"^  plans +1 +2 +exponent +last step$", result.out, re.M), result.out
    for view in ("status", "status --all", "events --limit 20"):
        row = re.search(rf"^  {re.escape(view)} +(\d+)ms +(\d+)ms +(-?[\d.]+) +(-?[\d.]+)$", result.out, re.M)
        assert row is not None, (view, result.out)
        assert int(row.group(1)) > 0 and int(row.group(2)) > 0
    assert re.search(
        r"^  status at 2 plans / at 1: [\d.]+x +\(goal <= 1\.5x: (ok|OVER GOAL)\)$", result.out, re.M
    )
    assert re.search(
        r"^  status --all exponent: -?[\d.]+ +\(goal <= 1\.1: (ok|OVER GOAL)\)$", result.out, re.M
    )
    # every plan archived: the live refs are the archive alone
    assert "live refs under refs/conductor/: 6 -> 1" in result.out
    assert "writing 2 plans..." in result.err
    assert list(tmp_path.glob("conductor-bench-status-*")) == []  # it removes its repositories
