"""Conductor as tools: an MCP client (the official SDK's, in process) starts a build of a plan
whose step it does itself through the handoff tools while the build reports its progress, then
reads the plan back through status, events, explain, compare, diff and verify — each result
checked by the client against the tool's output schema, the command's published --json schema.

The plan is built once, in a project of its own (`built`): the tests read it back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.mcpserver.conftest import conductors, copied_project
from tests.mcpserver.test_handoff_tools import FILE_AGENTS_EVENTS, call, refused, result_for
from tests.runner.test_handoff import STEP
from tests.scenario import Project


async def agent(client: Client) -> None:
    """The IDE agent: waits for the task, claims it, does it, submits it."""
    while not (listed := (await client.call_tool("list_tasks", {})).structured_content["tasks"]):
        await anyio.sleep(0.1)
    where = {key: listed[0][key] for key in ("plan", "fork", "step")}
    task = (await client.call_tool("claim_task", where)).structured_content["task"]
    Path(task["workspace"], "hello.py").write_text("print('hello')\n")
    submitted = await client.call_tool(
        "submit_result", where | {"result": result_for(task), "explanation": "Done"}
    )
    assert not submitted.is_error, submitted


@dataclass(frozen=True)
class Built:
    proj: Project
    run: dict[str, Any]  # what the build tool returned
    said: list[str]  # the progress it reported meanwhile


@pytest.fixture(scope="module")
def one_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A one-step plan a client built with the build tool while it did the step itself."""
    proj = copied_project(tmp_path_factory, "proj", "built")
    said: list[str] = []
    run: dict[str, Any] = {}

    async def progress(done: float, total: float | None, message: str | None) -> None:
        said.append(message or "")

    async def session() -> None:
        async with Client(conductors()) as client:

            async def start() -> None:
                arguments = {"plan_file": plan_file, "executor": "mcp", "yes": True}
                result = await client.call_tool("build", arguments, progress_callback=progress)
                assert not result.is_error, result
                run.update(result.structured_content)

            async with anyio.create_task_group() as group:
                group.start_soon(start)
                await agent(client)

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(proj.root)
        plan_file = proj.plan([STEP])
        anyio.run(session)
    return Built(proj, run, said)


@pytest.fixture
def built(one_build: Built, monkeypatch: pytest.MonkeyPatch) -> Built:
    """The plan built once, its project the current directory."""
    monkeypatch.chdir(one_build.proj.root)
    return one_build


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_client_builds_a_plan_and_does_its_step_while_the_build_reports_progress(built: Built) -> None:
    run, said, proj = built.run, built.said, built.proj
    assert run["state"] == "completed" and run["forks"][0]["steps"][0]["state"] == "completed"
    assert any("waiting for an MCP client of `conductor mcp`" in line for line in said), said
    plan = run["plan"]
    assert [e.type.value for e in proj.events(plan)] == FILE_AGENTS_EVENTS
    plans = call("status").structured_content["plans"]
    assert [p["plan"] for p in plans] == [plan] and plans[0]["state"] == "completed"
    events = call("events", plan=plan, oldest_first=True).structured_content["events"]
    assert [e["type"] for e in events if e["fork"] == "main"] == FILE_AGENTS_EVENTS
    assert call("explain", step="step_001", plan=plan).structured_content["state"] == "completed"
    files = call("diff", left=f"{plan}/main").structured_content["files"]
    assert [f["path"] for f in files] == ["hello.py"]
    assert call("verify", plan=plan).structured_content["ok"] is True
    assert call("compare", plan=plan).structured_content["plan"] == plan


def test_what_a_client_may_start_is_bounded(proj: Project) -> None:
    outside = proj.root.parent / "plan.yaml"
    outside.write_text("goal: x\nsteps: []\n")
    assert "is not a file inside the repository" in refused(call("build", plan_file="../plan.yaml"))
    assert "is not one of mcp, handoff, llm, agent" in refused(call("build", executor="command"))
    assert "unknown argument exec" in refused(call("build", exec="rm -rf ~"))
    marker = proj.root / "injected"
    for tool, where in (("build", "goal"), ("resume", "plan"), ("approve", "step"), ("reject", "step")):
        said = refused(call(tool, **{where: f"--exec=touch {marker}"}))  # an option, not its argument
        assert f"{tool}: {where} must not begin with '-' (it would read as an option)" in said
    assert not marker.exists()
    assert "unknown event type" in refused(call("events", types=["nope"]))
    said = refused(call("explain", step="step_001", plan="nope"))
    assert "nope" in said  # the command's own error, as a tool error


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_plans_records_are_resources_at_stable_uris(built: Built) -> None:
    proj = built.proj

    async def session() -> dict[str, Any]:
        async with Client(conductors()) as client:
            plan = proj.only_plan()
            read: dict[str, Any] = {"plan": plan}
            read["listed"] = [str(r.uri) for r in (await client.list_resources()).resources]
            templates = (await client.list_resource_templates()).resource_templates
            read["templates"] = [t.uri_template for t in templates]
            base = f"conductor://plan/{plan}/fork/main/step/step_001"
            for record in ("task", "result", "explanation", "verdict", "provenance"):
                contents = (await client.read_resource(f"{base}/{record}")).contents[0]
                read[record] = contents.text
            read["summary"] = (await client.read_resource(f"conductor://plan/{plan}")).contents[0].text
            for uri in (
                f"conductor://plan/{plan}/fork/main/step/../x",
                f"{base}/secrets",
                "file:///etc/passwd",
            ):
                with pytest.raises(MCPError) as refusal:
                    await client.read_resource(uri)
                read.setdefault("refused", []).append(refusal.value.error.message)
            return read

    read = anyio.run(session)
    plan = read["plan"]
    assert read["listed"] == [f"conductor://plan/{plan}"]
    assert "conductor://plan/{plan}/fork/{fork}/step/{step}/verdict" in read["templates"]
    assert read["task"] == proj.record("completed/step_001.task.json", plan)
    assert json.loads(read["result"])["agent"] == "IDE agent" and read["explanation"] == "Done"
    assert json.loads(read["verdict"])["accepted"] is True
    assert json.loads(read["provenance"])["_type"] == "https://in-toto.io/Statement/v1"
    assert json.loads(read["summary"])["plan"] == plan
    assert "is not a step" in read["refused"][0] and "no record 'secrets'" in read["refused"][1]
    assert "not a resource of Conductor's" in read["refused"][2]
