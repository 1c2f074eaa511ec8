"""`conductor mcp`: the MCP server, on the official SDK's low-level Server (each tool's schemas
are Conductor's published ones, not derived from Python signatures), over stdio or streamable
HTTP on 127.0.0.1. A tool runs in a worker thread (the ledger and the mailbox are blocking
I/O), so the server keeps answering while one works.
"""

from __future__ import annotations

import gc
import io
import json
import sys
import threading
from typing import IO, Any, cast

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS

from conductor import __version__
from conductor.errors import ConductorError
from conductor.mcpserver import handoff, reading, resources, runs
from conductor.mcpserver.greeting import INSTRUCTIONS, NAME, Answered, Opening, Replayed
from conductor.mcpserver.tools import Failure, Tool, call

LOCAL_HOST = "127.0.0.1"
JSON = "application/json"


def all_tools() -> list[Tool]:
    return [*handoff.tools(), *reading.tools(), *runs.tools()]


def build(tools: list[Tool] | None = None) -> Server[Any]:
    """The server with Conductor's tools (or `tools`)."""
    table = {tool.name: tool for tool in (tools if tools is not None else all_tools())}
    listed = [
        types.Tool(
            name=tool.name,
            description=tool.description,
            input_schema=tool.input_schema,
            output_schema=tool.output_schema,
        )
        for tool in table.values()
    ]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = table.get(params.name)
        if tool is None:
            return _error(Failure(f"no tool {params.name!r}", f"the tools: {', '.join(table)}", []))
        said = 0

        stop = threading.Event()

        def progress(message: str) -> None:  # from the tool's thread
            nonlocal said
            said += 1
            if not stop.is_set():  # a cancelled call has nobody to tell
                anyio.from_thread.run(ctx.session.report_progress, said, None, message)

        try:
            outcome = await anyio.to_thread.run_sync(
                call, tool, params.arguments, progress, stop, abandon_on_cancel=True
            )
        except anyio.get_cancelled_exc_class():
            stop.set()  # the client cancelled: a long run is stopped as Ctrl-C stops it
            raise
        if isinstance(outcome, Failure):
            return _error(outcome)
        text = json.dumps(outcome, ensure_ascii=False, indent=2)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=outcome
        )

    return Server(
        NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=_list_resources,
        on_list_resource_templates=_list_templates,
        on_read_resource=_read_resource,
    )


async def _list_resources(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListResourcesResult:
    plans = await anyio.to_thread.run_sync(resources.plans)
    listed = [
        types.Resource(uri=uri, name=uri.removeprefix(resources.SCHEME), description=goal, mime_type=JSON)
        for uri, goal in plans
    ]
    return types.ListResourcesResult(resources=listed)


async def _list_templates(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListResourceTemplatesResult:
    templates = [types.ResourceTemplate(uri_template=resources.PLAN, name="plan", mime_type=JSON)]
    for record, (_suffix, _where, mime) in resources.RECORDS.items():
        uri = resources.STEP.replace("{record}", record)
        templates.append(types.ResourceTemplate(uri_template=uri, name=f"step {record}", mime_type=mime))
    return types.ListResourceTemplatesResult(resource_templates=templates)


async def _read_resource(
    ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
) -> types.ReadResourceResult:
    try:
        found = await anyio.to_thread.run_sync(resources.read, str(params.uri))
    except ConductorError as exc:
        raise MCPError(INVALID_PARAMS, exc.diagnostics()) from None
    contents = types.TextResourceContents(uri=found.uri, mime_type=found.mime_type, text=found.text)
    return types.ReadResourceResult(contents=[contents])


def _error(failure: Failure) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=failure.text())], is_error=True)


def serve_stdio(opening: Opening) -> None:
    """Serve the client on stdin and stdout until it closes them, from its first line on (read,
    and perhaps answered, before the SDK was loaded: greeting.py)."""
    from mcp.server.stdio import stdio_server

    if not opening.line:
        return  # the client went away before saying anything
    sys.stdout = sys.stderr  # a stray print must never reach the client as a message
    rest = io.TextIOWrapper(opening.reader, encoding="utf-8", errors="replace")
    stdin = anyio.wrap_file(cast(IO[str], Replayed(opening.line, rest)))
    answered = Answered(io.TextIOWrapper(opening.writer, encoding="utf-8"), opening.answered)
    stdout = anyio.wrap_file(cast(IO[str], answered))

    async def main() -> None:
        server = build()
        async with stdio_server(stdin, stdout) as (read, write):
            await server.run(read, write, server.create_initialization_options())

    try:
        anyio.run(main)
    except BaseExceptionGroup:
        if answered.diverged is None:
            raise
        raise answered.diverged from None  # the session ends: the client believes otherwise
    finally:
        served()


def served() -> None:
    """The session is over and the process exits next: what it holds is frozen (gc.freeze), so
    the interpreter's last collection does not walk the SDK's objects — half a second the
    client waits for the process to end, after it closed the session."""
    gc.freeze()


def serve_http(port: int) -> None:
    """Serve streamable HTTP at http://127.0.0.1:PORT/mcp, on this machine only."""
    import uvicorn

    app = build().streamable_http_app(host=LOCAL_HOST)
    try:
        uvicorn.run(app, host=LOCAL_HOST, port=port, log_level="warning")
    finally:
        served()
