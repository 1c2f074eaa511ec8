"""bench/agent_overhead.py runs (issue 18): an agent profile's cost per step over the bare agent."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.agents.conftest import agent_bin
from tests.conftest import PYTHON, ROOT, run_process


@pytest.mark.slow
def test_the_agent_overhead_bench_prints_the_overhead_per_step(tmp_path: Path) -> None:
    agent_bin("codex")  # the agent it measures (skipped, or in CI failed, without it)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    sizes = ("--steps", "1", "2", "--runs", "1", "--warmup", "0")  # the slope between 1 and 2 steps
    result = run_process(PYTHON, str(ROOT / "bench" / "agent_overhead.py"), *sizes, env=env, timeout=600)
    assert result.code == 0, result.out + result.err
    assert re.search(r"^  bare agent run: +\d+ ms \(median of 1; a fresh home each", result.out, re.M), (
        result.out
    )
    assert re.search(r"^  \(with one warm home: +\d+ ms\)$", result.out, re.M)
    assert re.search(
        r"^  a step through Conductor: +-?\d+ ms \(slope between 1 and 2 steps\)$", result.out, re.M
    )
    assert re.search(r"^  overhead per step: +-?\d+ ms \(goal <= 150 ms: (ok|OVER GOAL)\)$", result.out, re.M)
