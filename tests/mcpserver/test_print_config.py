"""`conductor mcp --print-config CLIENT` prints each client's documented configuration, and the
server it describes starts: the command and arguments read back from the snippet (JSON, or
Codex's TOML) serve the tools to the SDK's client."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from conductor.cli import serving
from conductor.commands import mcp
from tests.conftest import conductor_bin, run_process

WHERE = {"claude": "mcpServers", "cursor": "mcpServers", "gemini": "mcpServers", "vscode": "servers"}


def server_of(client: str, text: str) -> dict[str, Any]:
    """The one server the snippet declares, read as the client reads its file."""
    if client == "codex":
        return tomllib.loads(text)["mcp_servers"]["conductor"]
    (name, server), *others = json.loads(text)[WHERE[client]].items()
    assert name == "conductor" and not others
    return server


def test_the_command_line_offers_every_client_the_command_knows() -> None:
    assert serving.CLIENTS == mcp.CLIENTS


@pytest.mark.parametrize("client", mcp.CLIENTS)
def test_each_clients_snippet_starts_the_server(project: Path, client: str) -> None:
    printed = run_process(conductor_bin(), "mcp", "--print-config", client, cwd=project)
    assert printed.code == 0, printed.err
    assert printed.err.startswith(f"# {client}: put this in ")
    server = server_of(client, printed.out)
    assert server["command"] == "conductor"
    if client == "vscode":
        assert server["type"] == "stdio"
    if client == "codex":  # the user's file, for every project: it names this one
        assert server["args"] == ["-C", str(project), "mcp"]
    else:  # the project's file: the client starts it there
        assert server["args"] == ["mcp"]

    async def tools() -> list[str]:
        where = project if client != "codex" else project.parent  # codex starts it anywhere
        started = StdioServerParameters(command=conductor_bin(), args=server["args"], cwd=str(where))
        async with Client(started) as connected:
            assert not (await connected.call_tool("list_tasks", {})).is_error
            return [tool.name for tool in (await connected.list_tools()).tools]

    assert "claim_task" in anyio.run(tools)
