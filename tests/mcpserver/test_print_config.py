"""`conductor mcp --print-config CLIENT` prints each client's documented configuration, and the
server it describes starts: the command and arguments read back from the snippet (JSON, or
Codex's TOML) serve the tools to the SDK's client (a server started once for each command line
and place the snippets name: the four project files name the same)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conductor.cli import serving
from conductor.commands import mcp
from tests.mcpserver.conftest import Listing

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
def test_each_clients_snippet_starts_the_server(
    served: Path,
    stdio_listing: Callable[..., Listing],
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    client: str,
) -> None:
    monkeypatch.chdir(served)
    printed = run_cli("mcp", "--print-config", client)
    assert printed.code == 0, printed.err
    assert printed.err.startswith(f"# {client}: put this in ")
    server = server_of(client, printed.out)
    assert server["command"] == "conductor"
    if client == "vscode":
        assert server["type"] == "stdio"
    if client == "codex":  # the user's file, for every project: it names this one
        assert server["args"] == ["-C", str(served), "mcp"]
    else:  # the project's file: the client starts it there
        assert server["args"] == ["mcp"]
    where = served if client != "codex" else served.parent  # codex starts it anywhere
    tools, listed = stdio_listing(server["args"], where)
    assert not listed.is_error
    assert "claim_task" in tools
