"""The handoff contract over MCP: an MCP client (the official SDK's, in process) lists the
waiting tasks, claims one, edits its workspace and submits its result, and the plan run by
`conductor build --executor mcp` records it as it records a file agent's."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from conductor.models import resultcheck
from tests.mcpserver.conftest import Listing, conductors
from tests.runner.test_handoff import STEP, fork_dir, pending, start
from tests.scenario import Project

FILE_AGENTS_EVENTS = [
    "fork.created",
    "task.created",
    "task.claimed",
    "result.received",
    "task.completed",
    "fork.completed",
]
"""What a one-step plan records when a file agent claims and completes its step (test_handoff.py)."""


def result_for(task: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "task_id": task["task_id"],
        "attempt": task["attempt"],
        "status": "completed",
        "summary": "Wrote hello.py",
        "files_changed": ["hello.py"],
        "agent": "IDE agent",
        **fields,
    }


async def calls(*steps: tuple[str, dict[str, Any]]) -> list[Any]:
    """Call each tool in turn on one client of the server; what each returned."""
    out = []
    async with Client(conductors()) as client:
        for name, arguments in steps:
            out.append(await client.call_tool(name, arguments))
    return out


def call(name: str, **arguments: Any) -> Any:
    return anyio.run(calls, (name, arguments))[0]


def refused(result: Any) -> str:
    assert result.is_error, result
    return "\n".join(block.text for block in result.content)


def waiting(proj: Project) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    plan = proj.plan([STEP])
    proc = start(proj, "build", "--plan", plan, "--executor", "mcp", "--yes")
    return proc, pending(proj)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_an_mcp_client_does_a_step_and_the_run_records_it_as_a_file_agents(proj: Project) -> None:
    proc, task = waiting(proj)
    where = {"plan": task["context"]["plan_id"], "fork": "main", "step": "step_001"}
    listed = call("list_tasks").structured_content["tasks"]
    assert [(t["plan"], t["fork"], t["step"], t["claimed"]) for t in listed] == [
        (where["plan"], "main", "step_001", False)
    ]
    assert listed[0]["allowed_files"] == ["hello.py"] and listed[0]["instruction"] == STEP["instruction"]
    claimed = call("claim_task", **where).structured_content
    assert claimed["claimed"] is True and claimed["task"]["checksum"] == task["checksum"]
    assert (fork_dir(proj) / "in_progress" / "step_001.task.json").exists()
    Path(task["workspace"], "hello.py").write_text("print('hello')\n")
    handed = call(
        "submit_result", **where, result=result_for(task), explanation="# Done\n"
    ).structured_content
    assert handed["handed_in"] == "completed/step_001.result.json"
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting for an MCP client of `conductor mcp` to claim" in err
    assert [e.type.value for e in proj.events()] == FILE_AGENTS_EVENTS
    claim = next(e for e in proj.events() if e.type.value == "task.claimed")
    assert claim.data["worker"] == {"executor": "mcp"}  # as the handoff executor records a file claim
    assert json.loads(proj.record("completed/step_001.result.json")) == result_for(task)
    assert proj.record("completed/step_001.explanation.md") == "# Done\n"
    verdict = call("task_verdict", **where).structured_content
    assert verdict["state"] == "completed" and verdict["attempts"][0]["verdict"]["accepted"] is True
    assert call("list_tasks").structured_content == {"tasks": []}


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_of_two_clients_claiming_one_task_one_wins_and_the_other_is_told(proj: Project) -> None:
    proc, task = waiting(proj)
    where = {"plan": task["context"]["plan_id"], "fork": "main", "step": "step_001"}
    outcomes: list[Any] = []

    async def claim() -> None:
        async with Client(conductors()) as client:
            outcomes.append(await client.call_tool("claim_task", where))

    async def race() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(claim)
            group.start_soon(claim)

    anyio.run(race)
    won = [o for o in outcomes if not o.is_error]
    lost = [refused(o) for o in outcomes if o.is_error]
    assert len(won) == 1 and won[0].structured_content["task"]["task_id"] == "step_001"
    assert len(lost) == 1 and "another agent claimed it first" in lost[0], lost
    proc.terminate()
    proc.communicate(timeout=30)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_result_with_problems_is_refused_as_a_result_file_is_and_a_corrected_one_taken(
    proj: Project,
) -> None:
    proc, task = waiting(proj)
    where = {"plan": task["context"]["plan_id"], "fork": "main", "step": "step_001"}
    bad = result_for(task, files_changed=[3], status="done")
    raw = json.dumps(bad).encode()
    said = refused(call("submit_result", **where, result=bad, explanation="# Done\n"))
    for problem in resultcheck.problems(
        raw, name="completed/step_001.result.json", step="step_001", attempt=1
    ):
        assert problem in said  # the very problems the run finds in such a file
    assert "files_changed.0: must be a string (it is 3)" in said
    text = '{"task_id": "step_001", "attempt": 1,'
    assert "Invalid JSON at line 1" in refused(call("submit_result", **where, result=text, explanation=""))
    box = fork_dir(proj)
    assert not list((box / "completed").glob("step_001.*")), "nothing written for a refused result"
    Path(task["workspace"], "hello.py").write_text("print('hello')\n")
    assert not call("submit_result", **where, result=result_for(task), explanation="# Done\n").is_error
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [e.type.value for e in proj.events()] == FILE_AGENTS_EVENTS  # result without a claim: the claim
    again = refused(call("submit_result", **where, result=result_for(task), explanation=""))
    assert "no task waits for an agent (it is in completed/: the step was judged)" in again


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"plan": "../../etc", "fork": "main", "step": "step_001"}, "is not a plan id"),
        ({"plan": "p", "fork": "main", "step": "step_001/../../x"}, "is not a step"),
        ({"plan": "p", "fork": "main", "step": "step_001", "extra": 1}, "unknown argument extra"),
        ({"plan": "p", "fork": "main"}, "step is missing"),
        ({"plan": 7, "fork": "main", "step": "step_001"}, "plan must be a string"),
        ({"plan": "nope", "fork": "main", "step": "step_001"}, "no task waits for an agent"),
    ],
)
def test_names_that_are_not_a_waiting_task_are_tool_errors(
    project: Path, arguments: dict[str, Any], said: str
) -> None:
    assert said in refused(call("claim_task", **arguments))


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_conductor_mcp_serves_the_tools_on_stdio(served: Path, stdio_listing: Callable[..., Listing]) -> None:
    """The real command, as an IDE starts it: `conductor mcp` in the repository."""
    names, listed = stdio_listing(["mcp"], served)
    assert names == [
        *["list_tasks", "claim_task", "read_task", "submit_result", "task_verdict"],
        *["status", "explain", "events", "compare", "diff", "verify"],
        *["build", "explore", "resume", "approve", "reject"],
    ]
    assert listed.structured_content == {"tasks": []}


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_conductor_mcp_serves_streamable_http_on_this_machine(http_served: str) -> None:
    async def session() -> list[str]:
        async with Client(f"{http_served}/mcp") as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    assert "submit_result" in anyio.run(session)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_plan_run_with_the_handoff_executor_is_served_over_mcp_too(proj: Project) -> None:
    proc = start(proj, "build", "--plan", proj.plan([STEP]), "--executor", "handoff", "--yes")
    task = pending(proj)
    where = {"plan": task["context"]["plan_id"], "fork": "main", "step": "step_001"}
    assert not call("claim_task", **where).is_error
    Path(task["workspace"], "hello.py").write_text("print('hello')\n")
    assert not call("submit_result", **where, result=result_for(task), explanation="# Done\n").is_error
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [e.type.value for e in proj.events()] == FILE_AGENTS_EVENTS
    claim = next(e for e in proj.events() if e.type.value == "task.claimed")
    assert claim.data["worker"] == {"executor": "handoff"}


def test_the_mailbox_protocol_names_each_handoff_tool_an_mcp_agent_can_use_instead() -> None:
    from conductor import resources
    from conductor.mcpserver import handoff

    protocol = resources.text("templates/PROTOCOL.md")
    names = [tool.name for tool in handoff.tools()]
    assert names and all(f"`{name}`" in protocol for name in names), names
    assert "`conductor mcp`" in protocol
