"""The real agent CLIs, where `.ci/install-agents` put them ($CONDUCTOR_AGENTS_HOME/bin, default
/opt/conductor-agents/bin). A test of an agent that is not installed is skipped, unless
CONDUCTOR_TEST_REQUIRE_AGENTS is set (CI): then it fails, since the agent is the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AGENTS_BIN = Path(os.environ.get("CONDUCTOR_AGENTS_HOME", "/opt/conductor-agents")) / "bin"


def agent_bin(name: str) -> Path:
    """The directory holding agent `name`'s program; skips (or, in CI, fails) without it."""
    if (AGENTS_BIN / name).exists():
        return AGENTS_BIN
    reason = f"{name} is not installed in {AGENTS_BIN} (run .ci/install-agents {name})"
    if os.environ.get("CONDUCTOR_TEST_REQUIRE_AGENTS"):
        pytest.fail(f"CONDUCTOR_TEST_REQUIRE_AGENTS is set, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def with_agent(monkeypatch: pytest.MonkeyPatch):
    """`with_agent(name)`: put the agent's program on PATH (as an installed one would be)."""

    def put(name: str) -> Path:
        where = agent_bin(name)
        monkeypatch.setenv("PATH", f"{where}{os.pathsep}{os.environ.get('PATH', '')}")
        return where / name

    return put
