"""bench/fork_cost.py runs (issue 21, point 7): at its smallest sizes, with layered forks however
small the repositories (`--layers on`), it prints the first build in each repository apart (a
layered fork makes the base checkout then), the one-step build at two repository sizes with where
its git time went, and explore with four forks against one."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conductor.project import state_home
from tests.conftest import PYTHON, ROOT, run_process


@pytest.mark.slow
def test_the_fork_cost_bench_prints_its_ratios(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repositories go where pytest cleans up
    sizes = ("--files", "10", "20", "--layers", "on", "--rounds", "1")
    result = run_process(PYTHON, str(ROOT / "bench" / "fork_cost.py"), *sizes, env=env, timeout=300)
    assert result.code == 0, result.out + result.err
    assert "first one-step build in each repository" in result.out, result.out
    for files in ("10", "20"):
        assert re.search(rf"^ +{files} files +[\d.]+s$", result.out, re.M), result.out
        assert re.search(rf"^ +{files} files +[\d.]+s +slowest git: \d+ms git", result.out, re.M), result.out
    assert re.search(r"^  at 20 / at 10: [\d.]+x  \(goal <= 1\.5x: (ok|OVER GOAL)\)$", result.out, re.M)
    assert re.search(r"^  4 forks / 1 fork: [\d.]+x  \(goal <= 1\.5x: (ok|OVER GOAL)\)$", result.out, re.M)
    # its forks' worktrees and base checkouts went with its repositories, none in the state home
    assert not list(state_home().glob("conductor-bench-forks-*")), list(state_home().iterdir())
    assert not list(tmp_path.iterdir())
