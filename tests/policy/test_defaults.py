"""Each policy default lives in one place, models/defaults.py: the effective policy, the policy
schema's descriptions, `conductor init`'s policy file and the mailbox's result limit read it,
so changing a default there changes it everywhere it is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from conductor import mailbox
from conductor.executors.base import Assignment
from conductor.models import defaults
from conductor.policy.effective import EffectivePolicy
from tests.conftest import PYTHON, ROOT, run_process


def test_init_writes_the_defaults_of_the_table(repo: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(defaults.DEFAULTS, "behavior.max_diff_lines", 321)
    monkeypatch.setitem(defaults.DEFAULTS, "behavior.timeout_seconds", 42)
    monkeypatch.setitem(defaults.DEFAULTS, "sandbox.mode", "required")
    assert run_cli("init").code == 0
    written = (repo / ".conductor" / "policy.yaml").read_text(encoding="utf-8")
    assert "  max_diff_lines: 321       # added + removed lines one step may change\n" in written
    assert "  timeout_seconds: 42       # time an executor has for one task\n" in written
    assert "#   mode: required          # bubblewrap for agent and verify commands" in written
    assert "{default:" not in written


def test_the_effective_policy_starts_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(defaults.DEFAULTS, "limits.processes", 77)
    policy = EffectivePolicy.defaults()
    assert policy.scalars["limits.processes"].value == 77
    assert policy.scalars["limits.processes"].origin == "default"


def test_the_policy_schema_says_the_default_of_the_table(tmp_path: Path) -> None:
    code = (
        "from conductor.models import defaults\n"
        "defaults.DEFAULTS['behavior.max_attempts'] = 7\n"
        "defaults.DEFAULTS['limits.cpu_seconds'] = 60\n"
        "from conductor.models.policy import Behavior, LimitRules\n"
        "print(Behavior.model_fields['max_attempts'].description)\n"
        "print(LimitRules.model_fields['cpu_seconds'].description)\n"
    )
    result = run_process(PYTHON, "-c", code, cwd=tmp_path)
    assert result.out.splitlines() == [
        "Attempts per step, repairs included (default 7).",
        "CPU time of one process of a step (default 60).",
    ], result.err


def test_the_size_limits_an_executor_starts_with_are_the_defaults() -> None:
    limits = {
        "behavior.max_result_bytes": (mailbox.DEFAULT_LIMIT, Assignment.result_limit),
        "behavior.max_file_bytes": (Assignment.file_limit,),
        "behavior.max_change_bytes": (Assignment.change_limit,),
    }
    for key, read in limits.items():
        assert all(value == defaults.DEFAULTS[key] for value in read), key


def test_the_policy_reference_says_the_default_of_the_table() -> None:
    """docs/policy.md's Default column, for every setting whose default is a value."""
    rows = {}
    for line in (ROOT / "docs" / "policy.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 4:
            rows[cells[0].strip("`")] = cells[2]
    for key, value in defaults.DEFAULTS.items():
        if value is not None:
            assert rows[key].split("`")[1] == defaults.shown(value), key
