"""Real clients drive a whole plan (issue 22, point 6): `conductor build --executor mcp` runs in
one process, `conductor mcp` in another (over stdio, or streamable HTTP), and an IDE-agent
stand-in — the official SDK's client — claims each task, edits the worktree and submits. The plan
ends with the same event trail, trees, results and verdicts as the same plan done by a file
agent through the mailbox, and a second client racing for a task loses cleanly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import conductor_bin, free_port, git, run_process, wait_until
from tests.mcpserver.test_greeting import initialize
from tests.mcpserver.test_handoff_tools import call, result_for
from tests.runner.test_handoff import start
from tests.scenario import Project

STEPS = [
    {
        "title": "Create hello.py",
        "instruction": "Create hello.py printing hello",
        "allowed_files": ["hello.py"],
    },
    {"title": "Create bye.py", "instruction": "Create bye.py printing bye", "allowed_files": ["bye.py"]},
]
WRITES = {"step_001": ("hello.py", "print('hello')\n"), "step_002": ("bye.py", "print('bye')\n")}


def do(task: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """What the agent does for a task: its file, then the result and explanation to hand in."""
    name, text = WRITES[task["task_id"]]
    Path(task["workspace"], name).write_text(text)
    return result_for(task, summary=f"Wrote {name}", files_changed=[name]), f"# Done\n\nWrote {name}.\n"


def by_files(proj: Project, plan: str) -> None:
    """A file agent doing `plan` through the mailbox (docs/protocol.md), until it ends."""
    proc = start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes")
    done: set[str] = set()
    while proc.poll() is None:
        for task_file in proj.root.glob(".conductor/handoff/plan_*/fork_main/pending/step_*.task.json"):
            box = task_file.parent.parent
            claimed = box / "in_progress" / task_file.name
            try:
                os.rename(task_file, claimed)
                task = json.loads(claimed.read_text())
            except (FileNotFoundError, ValueError):
                continue
            result, explanation = do(task)
            (box / "completed" / f"{task['task_id']}.explanation.md").write_text(explanation)
            tmp = box / "completed" / f".{task['task_id']}.tmp"
            tmp.write_text(json.dumps(result))
            tmp.rename(box / "completed" / f"{task['task_id']}.result.json")
            done.add(task["task_id"])
        time.sleep(0.05)
    assert proc.returncode == 0, proc.communicate()[1]
    assert done == set(WRITES)


async def by_mcp(connect: Callable[[], Any], proc: subprocess.Popen[str]) -> list[str]:
    """The IDE agent over MCP: claims each task as it comes, does it, submits; a second client
    racing for the first task is told it lost. What the rival was told."""
    told: list[str] = []
    async with connect() as client, connect() as rival:
        while proc.poll() is None:
            for listed in (await client.call_tool("list_tasks", {})).structured_content["tasks"]:
                where = {key: listed[key] for key in ("plan", "fork", "step")}
                claimed = await client.call_tool("claim_task", where)
                if claimed.is_error:
                    continue
                if not told:  # too late: the task is taken
                    lost = await rival.call_tool("claim_task", where)
                    told.append("\n".join(block.text for block in lost.content) if lost.is_error else "won?")
                result, explanation = do(claimed.structured_content["task"])
                handed = await client.call_tool(
                    "submit_result", where | {"result": result, "explanation": explanation}
                )
                assert not handed.is_error, handed
            await anyio.sleep(0.05)
    return told


def stdio(project: Path) -> Callable[[], Any]:
    return lambda: Client(StdioServerParameters(command=conductor_bin(), args=["mcp"], cwd=str(project)))


@asynccontextmanager
async def http_server(project: Path, port: int | None = None) -> AsyncIterator[Callable[[], Any]]:
    port = port or free_port()
    server = subprocess.Popen(
        [conductor_bin(), "mcp", "--http", str(port)], cwd=project, stderr=subprocess.PIPE
    )

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_until(listening, what=f"conductor mcp on 127.0.0.1:{port}")
        yield lambda: Client(f"http://127.0.0.1:{port}/mcp")
    finally:
        server.terminate()
        server.communicate(timeout=30)


def provenance(statement: dict[str, Any]) -> dict[str, Any]:
    """What a step's statement says of its code, policy and evidence (not who ran it, when, in
    which plan, nor its confidence, which the first plan's history raises for the second)."""
    said = statement["predicate"]
    return {"tree": said["commit"]["tree"], **{key: said[key] for key in ("policy", "evidence")}}


def trail(proj: Project, plan: str) -> dict[str, Any]:
    """What a plan recorded that does not depend on when or by which executor: its events'
    types, each step's tree, result, explanation and verdict."""
    branch = proj.branch(plan)
    found: dict[str, Any] = {"events": [e.type.value for e in proj.events(plan)]}
    for step in WRITES:
        found[step] = {
            "result": json.loads(proj.record(f"completed/{step}.result.json", plan)),
            "explanation": proj.record(f"completed/{step}.explanation.md", plan),
            "verdict": json.loads(proj.record(f"evidence/{step}/attempt_1/verdict.json", plan)),
            "provenance": provenance(json.loads(proj.record(f"completed/{step}.provenance.json", plan))),
        }
    found["tree"] = git(proj.root, "rev-parse", f"{branch}^{{tree}}").strip()
    found["authors"] = git(proj.root, "log", "--format=%an", f"{branch}~2..{branch}").split()
    return found


@pytest.mark.slow  # two plans of two steps through the CLI, three processes: about 7 s
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_an_sdk_client_does_a_whole_plan_as_a_file_agent_does(proj: Project, transport: str) -> None:
    files_plan = proj.plan(STEPS, goal="by files", name="files.yaml")
    plan_file = proj.plan(STEPS, goal="by mcp", name="mcp.yaml")  # both plans start from one commit
    by_files(proj, files_plan)
    proc = start(proj, "build", "--plan", plan_file, "--executor", "mcp", "--yes")

    async def session() -> list[str]:
        if transport == "stdio":
            return await by_mcp(stdio(proj.root), proc)
        async with http_server(proj.root) as connect:
            return await by_mcp(connect, proc)

    told = anyio.run(session)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(told) == 1 and "another agent claimed it first" in told[0], told
    plans = sorted(
        p.name.removeprefix("plan_") for p in (proj.root / ".conductor" / "handoff").glob("plan_*")
    )
    by_goal = {
        json.loads(git(proj.root, "show", f"refs/conductor/plans/{p}:plan.json"))["goal"]: p for p in plans
    }
    assert trail(proj, by_goal["by mcp"]) == trail(proj, by_goal["by files"])
    verified = run_process(conductor_bin(), "verify", by_goal["by mcp"], cwd=proj.root)
    assert verified.code == 0, verified.out + verified.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_build_the_client_cancels_is_interrupted_and_its_plan_halts(proj: Project) -> None:
    """Over stdio, as an IDE cancels a call: the build's command is interrupted as Ctrl-C does."""
    plan_file = proj.plan(STEPS)

    async def session() -> list[str]:
        said: list[str] = []
        waits = anyio.Event()

        async def progress(done: float, total: float | None, message: str | None) -> None:
            said.append(message or "")
            if "waiting for an MCP client" in (message or ""):
                waits.set()

        async with stdio(proj.root)() as client:
            async with anyio.create_task_group() as group:
                arguments = {"plan_file": plan_file, "executor": "mcp", "yes": True}
                group.start_soon(partial(client.call_tool, "build", arguments, progress_callback=progress))
                await waits.wait()
                group.cancel_scope.cancel()
            with anyio.fail_after(60):  # interrupted, the run ends long before its step's deadline
                while (await client.call_tool("status", {})).structured_content["plans"][0][
                    "state"
                ] == "running":
                    await anyio.sleep(0.1)
        return said

    said = anyio.run(session)
    assert any("waiting for an MCP client" in line for line in said)
    wait_until(lambda: proj.events()[-1].type.value == "fork.halted", what="the fork halted")
    listed = call("list_tasks").structured_content["tasks"]
    assert "step_001" in [t["step"] for t in listed]  # resumable: handed out


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_web_page_cannot_drive_the_http_server(http_served: str) -> None:
    """A page the user has open in a browser can send to 127.0.0.1 (from its own origin, or by
    DNS rebinding under its own host name): the server answers only this machine's names."""
    port = http_served.rsplit(":", 1)[1]

    def status(**headers: str) -> int:
        request = urllib.request.Request(
            f"{http_served}/mcp",
            data=initialize("2025-11-25").encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
            | headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refusal:
            return refusal.code

    local, foreign = status(Origin=f"http://127.0.0.1:{port}"), status(Origin="https://evil.example")
    assert [local, foreign, status(Host=f"evil.example:{port}")] == [200, 403, 421]
