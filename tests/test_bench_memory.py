"""bench/memory_bounds.py runs (`--quick`): real `conductor build`s rejecting a 2 GiB file, a 50 GiB
sparse file and a remote worker's blob of zeros, each within 2x the memory of an honest step."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, run_process

pytestmark = pytest.mark.slow  # five real plans, two of them with a worker: ~15-25 s


def test_the_memory_bench_rejects_each_big_file_within_twice_an_honest_steps_memory(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repositories go where pytest cleans up
    result = run_process(PYTHON, str(ROOT / "bench" / "memory_bounds.py"), "--quick", env=env)
    assert result.code == 0, result.err
    rows = re.findall(r"^  (.+?) +([\d.]+) MiB +([\d.]+)x +[\d.]+s  (.+)$", result.out, re.M)
    names = [name for name, *_ in rows]
    assert names == [
        "honest one-file step",
        "2 GiB file (data in 16 MiB of it)",
        "50 GiB sparse file",
        "honest one-file step, remote",
        "128 MiB worker blob of zeros",
    ], result.out
    for name, _, ratio, verdict in rows:
        if verdict != "(baseline)":
            assert verdict == "ok" and float(ratio) <= 2.0, (name, result.out)
    assert "result: every goal met" in result.out
