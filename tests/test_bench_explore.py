"""The bench scripts stay runnable: each one imports (its imports and paths are current), and
the explore bench runs at its smallest (2 forks of one 0.5-s step against 1); the others have
smoke tests of their own."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, run_process

SCRIPTS = sorted(p for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_every_bench_script_imports(script) -> None:
    namespace = runpy.run_path(str(script), run_name="bench_import")  # the __main__ guard holds
    assert callable(namespace.get("main")), f"{script.name} has no main()"


@pytest.mark.slow
def test_the_explore_bench_runs_and_prints_its_ratio(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repository goes where pytest cleans up
    sizes = ("--forks", "2", "--steps", "1", "--step-seconds", "0.5")
    result = run_process(PYTHON, str(ROOT / "bench" / "explore_parallel.py"), *sizes, env=env, timeout=300)
    assert result.code == 0, result.out[-2000:] + result.err[-2000:]
    assert "explore: 2 forks x 1 steps (0.5 s worker per step)" in result.out, result.out
    assert "ratio:" in result.out and "target <= 1.15x" in result.out
