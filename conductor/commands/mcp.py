"""`conductor mcp --print-config CLIENT`: the snippet that connects an MCP client to
`conductor mcp`, in the format that client documents (docs/mcp.md, "Connecting a client"):

    claude   .mcp.json at the repository root         {"mcpServers": {NAME: {command, args}}}
    cursor   .cursor/mcp.json                          {"mcpServers": {NAME: {command, args}}}
    gemini   .gemini/settings.json                     {"mcpServers": {NAME: {command, args}}}
    vscode   .vscode/mcp.json                          {"servers": {NAME: {type: stdio, command, args}}}
    codex    ~/.codex/config.toml (for every project)  [mcp_servers.NAME] command, args

A project's file is read by the client in that project, which starts the server there; Codex's
is the user's, so its snippet names the repository (`conductor -C ROOT mcp`). The snippet goes
to stdout, where it goes to stderr, so `> FILE` keeps only the snippet.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from conductor.errors import ConductorError
from conductor.project import find_root
from conductor.report import Report
from conductor.terminal import Screen

NAME = "conductor"
COMMAND = "conductor"
CLIENTS = ("claude", "cursor", "gemini", "codex", "vscode")
WHERE = {
    "claude": ".mcp.json at the repository root (or: claude mcp add conductor -- conductor mcp)",
    "cursor": ".cursor/mcp.json in the repository",
    "gemini": ".gemini/settings.json in the repository (merge mcpServers into what is there)",
    "codex": "~/.codex/config.toml (append it)",
    "vscode": ".vscode/mcp.json in the repository",
}


@dataclass
class ClientConfig(Report):
    client: str
    snippet: str  # the file's text, or the part to add to it
    where: str

    def to_json(self) -> dict[str, str]:
        return {"client": self.client, "snippet": self.snippet, "where": self.where}

    def render(self) -> str:
        return self.snippet.rstrip("\n")

    def show(self, screen: Screen, *, as_json: bool) -> None:
        print(f"# {self.client}: put this in {self.where}", file=sys.stderr)
        super().show(screen, as_json=as_json)


def snippet(client: str, root: Path) -> str:
    """The configuration `client` reads to start `conductor mcp` for the repository at `root`."""
    args = ["mcp"]
    if client in ("claude", "cursor", "gemini"):
        return json.dumps({"mcpServers": {NAME: {"command": COMMAND, "args": args}}}, indent=2) + "\n"
    if client == "vscode":
        server = {"type": "stdio", "command": COMMAND, "args": args}
        return json.dumps({"servers": {NAME: server}}, indent=2) + "\n"
    if client == "codex":
        listed = ", ".join(json.dumps(arg) for arg in ["-C", str(root), *args])
        return f'[mcp_servers.{NAME}]\ncommand = "{COMMAND}"\nargs = [{listed}]\n'
    raise ConductorError(f"no configuration for {client!r}", hint=f"the clients: {', '.join(CLIENTS)}")


def run(client: str) -> ClientConfig:
    return ClientConfig(client, snippet(client, find_root()), WHERE[client])
