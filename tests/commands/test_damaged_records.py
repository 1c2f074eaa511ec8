"""A plan record not written by Conductor (damaged, or by another tool) is a clear error that
names the record and what is wrong with it, never a crash; `abandon` still ends the plan."""

from __future__ import annotations

import json

from conductor.ledger import refs
from conductor.models.event import Event, EventType
from tests.scenario import Project


def test_a_plan_record_without_a_field_is_named_not_a_crash(proj: Project, run_cli) -> None:
    record = {"id": "odd", "goal": "g", "base": "0" * 40, "created": "2026-01-01T00:00:00Z", "spec": {}}
    proj.ledger().append(
        refs.plan_log("odd"),
        Event(EventType.PLAN_CREATED, plan="odd", summary="odd", state="completed"),
        {"plan.json": json.dumps(record)},
    )
    proj.ledger().append(
        refs.fork_log("odd", "main"),
        Event(EventType.TASK_CREATED, plan="odd", fork="main", step="step_001", attempt=1, summary="t"),
        {"evidence/step_001/policy.json": "{}"},
    )
    for args in (("explain", "step_001", "--plan", "odd"), ("resume", "odd")):
        result = run_cli(*args)
        assert result.code == 1, (args, result.out, result.err)
        assert "plan 'odd': its plan.json (refs/conductor/plans/odd) cannot be read" in result.err, args
        assert "missing field 'source'" in result.err and "Traceback" not in result.err
    ended = run_cli("abandon", "odd", "--reason", "not ours")
    assert ended.code == 0, ended.err
