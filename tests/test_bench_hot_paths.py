"""bench/hot_paths.py runs (issue 21, point 8): `--quick` prints, for each path it measures,
Conductor's time and the time of the same work done as before, and their ratio."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, run_process

BENCH = str(ROOT / "bench" / "hot_paths.py")


@pytest.mark.slow  # 2-5 s (the Gemini SDK, inotify waits) for a printout: not in the fast tier
def test_the_hot_paths_bench_prints_each_ratio(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repositories go where pytest cleans up
    result = run_process(PYTHON, BENCH, "--quick", env=env)
    assert result.code == 0, result.err
    names = re.findall(
        r"^(\S.*)\n  conductor: +[\d.]+ ms\n  baseline: +[\d.]+ ms\n  ratio: +[\d.]+x", result.out, re.M
    )
    assert [name.split(":")[0].split(" (")[0] for name in names] == [
        "redacting a result record",
        "redacting a 15 KB command output",
        "redacting an event",
        "the environment's redactor",
        "a ledger append with a step's evidence",
        "a step's effective policy",
        "a Gemini provider, one a step",
        "a fork's change watcher ready",
    ]
