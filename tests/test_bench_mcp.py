"""bench/mcp_start.py runs (issue 22, point 6): it prints conductor mcp's time to its first
response beside conductor --help's, and the server's CPU time while idle, each with its goal."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, run_process


@pytest.mark.slow
def test_the_mcp_start_bench_prints_first_response_and_idle_cpu(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its repository goes where pytest cleans up
    script = str(ROOT / "bench" / "mcp_start.py")
    result = run_process(PYTHON, script, "--rounds", "1", "--idle", "1", env=env, timeout=300)
    assert result.code == 0, result.err
    assert re.search(r"^  first response: +\d+ ms  \(goal < 300 ms: (ok|OVER GOAL)\)$", result.out, re.M), (
        result.out
    )
    assert re.search(r"^  conductor --help: +\d+ ms  \([\d.]+x\)$", result.out, re.M), result.out
    idle = re.search(r"^  idle CPU: +(\d+) ms in 1 s  \(goal <= 10 ms: (ok|OVER GOAL)\)$", result.out, re.M)
    assert idle is not None, result.out
    assert int(idle.group(1)) <= 10  # waiting for a client costs nothing
    assert list(tmp_path.glob("conductor-bench-mcp-*")) == []  # it removes its repository
