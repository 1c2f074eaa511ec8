"""A long fork: what a step reads of the fork's history stays bounded (issue 13, point 2)."""

from __future__ import annotations

import json

import pytest

from conductor.executors.llm import prompt
from conductor.models.task import TaskFile
from conductor.runner.fork.tasks import PREVIOUS_STEPS_LISTED
from tests.scenario import Project, build

STEPS = PREVIOUS_STEPS_LISTED + 3


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_task_lists_the_last_steps_in_full_and_counts_the_earlier_ones(proj: Project, run_cli) -> None:
    steps = [
        {"title": f"Write f{n}.py", "instruction": f"Write f{n}.py", "allowed_files": [f"f{n}.py"]}
        for n in range(1, STEPS + 1)
    ]
    plan = proj.plan(steps)
    script = {
        f"step_{n:03d}": [{"write": {f"f{n}.py": f"x = {n}\n"}}, {"result": {"summary": f"wrote f{n}.py"}}]
        for n in range(1, STEPS + 1)
    }
    result = build(run_cli, proj, plan, proj.agent(script))
    assert result.code == 0, result.err
    last = json.loads(proj.record(f"completed/step_{STEPS:03d}.task.json"))["context"]
    listed = [(p["task_id"], p["status"], p["summary"]) for p in last["previous_steps"]]
    assert listed == [
        (f"step_{n:03d}", "completed", f"wrote f{n}.py") for n in range(STEPS - PREVIOUS_STEPS_LISTED, STEPS)
    ]
    assert last["earlier_steps"] == STEPS - 1 - PREVIOUS_STEPS_LISTED
    # the model executor's prompt says the count, so the model knows the list is not all
    task = TaskFile.from_json(proj.record(f"completed/step_{STEPS:03d}.task.json").encode())
    said = prompt(task, {})
    assert f"({STEPS - 1 - PREVIOUS_STEPS_LISTED} earlier steps are done and not listed)" in said
    assert f"- step_{STEPS - 1:03d} Write f{STEPS - 1}.py: completed. wrote f{STEPS - 1}.py" in said
    third = json.loads(proj.record("completed/step_003.task.json"))["context"]
    assert [p["task_id"] for p in third["previous_steps"]] == ["step_001", "step_002"]
    assert third["earlier_steps"] == 0
