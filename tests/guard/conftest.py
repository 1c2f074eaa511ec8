"""The guard's fixtures: a repository with a committed policy and Conductor's hooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git

POLICY = """\
file_rules:
  protected_patterns:
    - '*.lock'
    - 'migrations/*'
"""


@pytest.fixture
def guarded(repo: Path, run_cli) -> Path:
    """A repository with a committed policy, protected files, and the native hook installed."""
    (repo / ".conductor").mkdir()
    (repo / ".conductor" / "policy.yaml").write_text(POLICY)
    (repo / "poetry.lock").write_text("v1\n")
    (repo / "migrations").mkdir()
    (repo / "migrations" / "0001.py").write_text("up\n")
    (repo / "app.py").write_text("print(1)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    result = run_cli("hooks", "install")
    assert result.code == 0, result.err
    assert "pre-commit: installed" in result.out
    return repo
