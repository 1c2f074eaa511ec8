"""A malformed result from the command executor: its process has ended, so the attempt fails,
with every problem of the file in the reason, each naming its field (issue 12, point 8). The
handoff agent's chance to correct its result is in tests/runner/test_handoff.py."""

from __future__ import annotations

import json

from tests.scenario import Project, build


def test_every_problem_of_a_command_result_is_in_the_failure(proj: Project, run_cli) -> None:
    step = {"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}
    plan = proj.plan([step], policy={"behavior": {"max_attempts": 1}})
    broken = {"status": "done", "summary": 5, "files_changed": [3]}
    command = proj.agent({"step_001": [{"write": {"new.py": "x = 1\n"}}, {"result": broken}]})
    result = build(run_cli, proj, plan, command)
    assert result.code == 1, result.err
    (rejected,) = [e for e in proj.events() if e.type.value == "task.rejected"]
    problems = [
        "step_001.result.json: status: must be 'completed' or 'failed' (it is 'done')",
        "step_001.result.json: summary: must be a string (it is 5)",
        "step_001.result.json: files_changed.0: must be a string (it is 3)",
    ]
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert verdict["failure"] == "Invalid result" and verdict["reason"] == "; ".join(problems), verdict
    assert rejected.summary.startswith(f"Invalid result: {problems[0]}; {problems[1]}")
    assert "; ".join(problems) in result.err  # all three on the line the user reads
