"""The MCP Inspector's CLI (npm `@modelcontextprotocol/inspector`, pinned in .ci/install-agents)
lists `conductor mcp`'s tools, finds their schemas portable (--strict), and calls them to do a
plan's step: list the task, claim it, submit its result, read the verdict. Skipped where the
Inspector is not installed, failed then under CONDUCTOR_TEST_REQUIRE_AGENTS (CI)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.agents.conftest import agent_bin
from tests.conftest import conductor_bin
from tests.mcpserver.test_handoff_tools import FILE_AGENTS_EVENTS, result_for, waiting
from tests.scenario import Project


def inspector(project: Path, method: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`inspector --cli conductor mcp --method METHOD ARGS…`, as a person types it."""
    program = agent_bin("inspector") / "inspector"
    command = [str(program), "--cli", conductor_bin(), "mcp", "--method", method, *args]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)


def called(project: Path, tool: str, **arguments: Any) -> dict[str, Any]:
    pairs = [
        f"{key}={value if isinstance(value, str) else json.dumps(value)}" for key, value in arguments.items()
    ]
    done = inspector(project, "tools/call", "--tool-name", tool, *(["--tool-arg", *pairs] if pairs else []))
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["isError"] is False, answer
    return answer["structuredContent"]


@pytest.mark.slow  # node and a server process for each call
def test_the_inspector_lists_the_tools_and_calls_them_to_do_a_step(proj: Project) -> None:
    listed = inspector(proj.root, "tools/list", "--strict")
    assert listed.returncode == 0, listed.stdout + listed.stderr  # --strict: no portability error
    names = [tool["name"] for tool in json.loads(listed.stdout)["tools"]]
    assert {"list_tasks", "claim_task", "submit_result", "task_verdict", "status", "build"} <= set(names)
    proc, task = waiting(proj)
    (waiting_task,) = called(proj.root, "list_tasks")["tasks"]
    where = {key: waiting_task[key] for key in ("plan", "fork", "step")}
    assert called(proj.root, "claim_task", **where)["task"]["checksum"] == task["checksum"]
    Path(task["workspace"], "hello.py").write_text("print('hello')\n")
    handed = called(proj.root, "submit_result", **where, result=result_for(task), explanation="Done")
    assert handed["handed_in"] == "completed/step_001.result.json"
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [e.type.value for e in proj.events()] == FILE_AGENTS_EVENTS
    assert called(proj.root, "task_verdict", **where)["state"] == "completed"
