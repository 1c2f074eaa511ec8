"""`conductor mcp`: Conductor as a Model Context Protocol server for IDE agents and MCP clients."""

from __future__ import annotations

import click

from conductor.cli.app import cli
from conductor.cli.options import finish

CLIENTS = ("claude", "cursor", "gemini", "codex", "vscode")  # commands/mcp.py says each one's format


@cli.command(
    epilog="""\b
Examples:
  conductor mcp                      serve one client on stdin/stdout (what IDEs start)
  conductor mcp --http 8765          serve streamable HTTP at http://127.0.0.1:8765/mcp
  conductor build --plan plan.yaml --executor mcp    a plan whose steps an MCP client does
  conductor mcp --print-config vscode > .vscode/mcp.json

\b
The handoff tools: list_tasks, claim_task, read_task, submit_result, task_verdict; Conductor's:
status, explain, events, compare, diff, verify, build, explore, resume, approve, reject; each
plan's records as resources, conductor://plan/{plan}/... (docs/mcp.md).
"""
)
@click.option(
    "--http",
    "port",
    type=click.IntRange(min=1, max=65535),
    metavar="PORT",
    help="Serve streamable HTTP on 127.0.0.1:PORT (this machine only) instead of stdio.",
)
@click.option(
    "--print-config",
    "client",
    type=click.Choice(CLIENTS),
    help="Print the snippet that connects this client (its documented format) and exit.",
)
def mcp(port: int | None, client: str | None) -> int:
    """Serve the handoff tasks and Conductor's tools to MCP clients (IDE agents)."""
    if client is not None:
        from conductor.commands import mcp as command

        return finish(command.run(client), as_json=False)
    if port is None:
        from conductor.mcpserver import greeting

        opening = greeting.open_session(*greeting.claim_stdio())  # before the SDK loads
        from conductor.mcpserver import server

        server.serve_stdio(opening)
    else:
        from conductor.mcpserver import server

        server.serve_http(port)
    return 0
