"""Every input from an MCP client is untrusted (issue 22, point 4): an oversized, malformed,
wrong-step, later- or older-attempt or path-climbing submission is a tool error that names
what is wrong, writes nothing, and leaves the plan going — a good result handed in after it is
taken, and the plan records exactly what it records without the hostile call.

The hostile submissions go to one run, waiting in a project of its own for as long as this
module's tests last (a run per submission would cost a `conductor build` each): when they are
done, a good result is taken and the plan records exactly what it records without them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conductor.models.defaults import MAX_RESULT_BYTES
from tests.mcpserver.conftest import copied_project
from tests.mcpserver.test_handoff_tools import FILE_AGENTS_EVENTS, call, refused, result_for, waiting
from tests.runner.test_handoff import fork_dir, pending
from tests.scenario import Project

HOSTILE: dict[str, tuple[dict[str, Any], str]] = {
    "an oversized result": (
        {"result": "x" * (MAX_RESULT_BYTES + 1)},
        f"step_001.result.json is over the {MAX_RESULT_BYTES}-byte limit (behavior.max_result_bytes)",
    ),
    "an oversized explanation": (
        {"explanation": "x" * (MAX_RESULT_BYTES + 1)},
        f"step_001.explanation.md is over the {MAX_RESULT_BYTES}-byte limit",
    ),
    "a malformed result": ({"result": "{not json"}, "Invalid JSON at line 1, column 2"),
    "a result nested too deep": ({"result": "[" * 100 + "]" * 100}, "nested 100 levels deep (at most 64)"),
    "a result of another step": (
        {"result": {"task_id": "step_002"}},
        "task_id: is 'step_002', but this result is for step_001 (copy it from the task)",
    ),
    "a result of a later attempt": (
        {"result": {"attempt": 7}},
        "attempt: is 7, but the current attempt is 1 (copy it from the task)",
    ),
    "a step that climbs out": ({"step": "../fork_main/completed/step_001"}, "is not a step"),
    "a fork that climbs out": ({"fork": "../../plan_x/fork_main"}, "is not a fork id"),
    "a step that is not waiting": ({"step": "step_009"}, "step_009: no task waits for an agent"),
    "an argument it does not take": ({"path": "/etc/passwd"}, "unknown argument path"),
    "a result that is neither an object nor text": ({"result": [1, 2]}, "result must be the result file"),
}


def submission(task: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
    """A good submission with what `changed` says changed (a result's fields merged into it)."""
    good = {
        "plan": task["context"]["plan_id"],
        "fork": "main",
        "step": "step_001",
        "result": result_for(task),
        "explanation": "# Done\n",
    }
    given = dict(changed)
    if isinstance(given.get("result"), dict):
        given["result"] = good["result"] | given["result"]
    return good | given


def mailbox_files(proj: Project) -> list[str]:
    box = fork_dir(proj)
    return sorted(str(Path(d, f).relative_to(box)) for d, _, files in os.walk(box) for f in files)


@dataclass(frozen=True)
class Waiting:
    proj: Project
    proc: subprocess.Popen[str]
    task: dict[str, Any]
    mailbox: list[str]  # its files as the run handed the task out


@pytest.fixture(scope="module")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Waiting]:
    """A one-step plan's run waiting for its step; once the tests are done with it, a good
    result is handed in, and the run must take it and record what it records without them."""
    proj = copied_project(tmp_path_factory, "proj", "hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(proj.root)
        proc, task = waiting(proj)
        try:
            yield Waiting(proj, proc, task, mailbox_files(proj))
            Path(task["workspace"], "hello.py").write_text("print('hello')\n")
            assert not call("submit_result", **submission(task, {})).is_error
            _out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert [e.type.value for e in proj.events()] == FILE_AGENTS_EVENTS


@pytest.fixture
def run(one_run: Waiting, monkeypatch: pytest.MonkeyPatch) -> Waiting:
    """The shared waiting run, its project the current directory."""
    monkeypatch.chdir(one_run.proj.root)
    return one_run


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_a_hostile_submission_is_a_tool_error_that_writes_nothing_and_the_plan_goes_on(
    run: Waiting, hostile: str
) -> None:
    changed, said = HOSTILE[hostile]
    assert said in refused(call("submit_result", **submission(run.task, changed)))
    assert mailbox_files(run.proj) == run.mailbox  # as handed out: written by no hostile call
    assert run.proc.poll() is None  # the run goes on waiting (one_run then hands in a good result)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_result_for_an_older_attempt_is_refused_as_stale_and_the_current_one_taken(proj: Project) -> None:
    proc, task = waiting(proj)
    failed = submission(task, {"result": {"status": "failed", "summary": "could not", "files_changed": []}})
    assert not call("submit_result", **failed).is_error
    second = pending(proj, attempt=2)
    said = refused(call("submit_result", **submission(task, {})))
    assert "attempt: is 1, but the current attempt is 2: a stale result" in said
    Path(second["workspace"], "hello.py").write_text("print('hello')\n")
    assert not call("submit_result", **submission(second, {})).is_error
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    refusals = [e for e in proj.events() if e.type.value == "result.refused"]
    assert refusals == []  # refused at the door: nothing of it reached the run
    assert json.loads(proj.record("completed/step_001.result.json"))["attempt"] == 2
