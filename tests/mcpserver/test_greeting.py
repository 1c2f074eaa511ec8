"""`conductor mcp` answers a client's `initialize` before it loads the SDK (greeting.py): the
answer is the SDK's own, for every protocol version a client may ask for, and the session then
goes on with the SDK as if it had answered — its second answer never reaches the client, and
where it is not the one given (a request the SDK refuses) the session ends."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.server.stdio import stdio_server
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from conductor.mcpserver import greeting
from tests.conftest import conductor_bin
from tests.mcpserver.conftest import conductors


def initialize(version: str, ident: int | str = 1) -> str:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "ide", "version": "1"}}
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "initialize", "params": params}) + "\n"


def sdks_answer(line: str) -> dict[str, object]:
    """The SDK's own answer to `line`: Conductor's server on the SDK's stdio transport, told
    `line` first (what `conductor mcp` answered before greeting.py, in this process)."""
    said = io.StringIO()
    built = conductors()

    async def session() -> None:
        async with stdio_server(anyio.wrap_file(io.StringIO(line)), anyio.wrap_file(said)) as (read, write):
            await built.run(read, write, built.create_initialization_options())

    anyio.run(session)
    answer: dict[str, object] = json.loads(said.getvalue().splitlines()[0])
    return answer


def test_the_versions_it_negotiates_are_the_sdks() -> None:
    assert greeting.HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


@pytest.mark.parametrize(
    ("version", "ident"),
    [*((v, 1) for v in HANDSHAKE_PROTOCOL_VERSIONS), ("2026-07-28", "one"), ("1999-01-01", 7)],
)
def test_its_answer_to_initialize_is_the_sdks(version: str, ident: int | str) -> None:
    line = initialize(version, ident)
    said = greeting.answer(line)
    assert said is not None and said[1] == ident
    assert json.loads(said[0]) == sdks_answer(line)


@pytest.mark.parametrize(
    "line",
    [
        "not json\n",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}}) + "\n",
        initialize("2025-11-25").replace('"capabilities": {}, ', ""),
        initialize("2025-11-25", ident=1).replace('"id": 1', '"id": true'),
    ],
)
def test_anything_else_first_is_left_to_the_sdk(line: str) -> None:
    assert greeting.answer(line) is None


INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n"
LIST_TOOLS = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}) + "\n"


def serving(project: Path, *lines: str) -> subprocess.Popen[str]:
    """`conductor mcp` in `project`, told `lines` (its stdout and stderr ours to read)."""
    server = subprocess.Popen(
        [conductor_bin(), "mcp"],
        cwd=project,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None
    server.stdin.write("".join(lines))
    server.stdin.flush()
    return server


@dataclass(frozen=True)
class Session:
    """What one `conductor mcp` said over stdio, told initialize, then (once it answered)
    initialized and tools/list, then closed."""

    early: dict[str, Any]  # its first line: the answer to initialize
    listed: dict[str, Any]  # its second: the answer to tools/list
    descriptors: dict[str, str]  # where its fds 0, 1 and 2 pointed while it served (Linux)
    code: int
    rest: str  # what it wrote on stdout after, until it exited


@pytest.fixture(scope="module")
def session(served: Path) -> Session:
    """One real session for the checks that need a process but not a fresh one each."""
    server = serving(served, initialize("2025-11-25"))
    assert server.stdin is not None and server.stdout is not None
    early = json.loads(server.stdout.readline())
    server.stdin.write(INITIALIZED + LIST_TOOLS)
    server.stdin.flush()
    listed = json.loads(server.stdout.readline())
    fds = f"/proc/{server.pid}/fd"
    seen = {fd: os.readlink(f"{fds}/{fd}") for fd in ("0", "1", "2")} if os.path.isdir(fds) else {}
    server.stdin.close()
    code = server.wait(timeout=30)
    return Session(early, listed, seen, code, server.stdout.read())


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_session_goes_on_after_the_early_answer_without_a_second_one(session: Session) -> None:
    assert session.early["id"] == 1
    listed = session.listed  # not the SDK's answer to request 1 again
    assert listed["id"] == 2 and "claim_task" in [tool["name"] for tool in listed["result"]["tools"]]
    assert session.code == 0 and session.rest == ""


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_an_initialize_the_sdk_refuses_ends_the_session_it_was_answered_in(served: Path) -> None:
    malformed = initialize("2025-11-25").replace('"capabilities": {}', '"capabilities": {"roots": "yes"}')
    assert greeting.answer(malformed) is not None  # answered early: only the SDK's schema refuses it
    server = serving(served, malformed, INITIALIZED, LIST_TOOLS)
    assert server.stdin is not None and server.stdout is not None and server.stderr is not None
    assert json.loads(server.stdout.readline())["id"] == 1
    assert server.stdout.readline() == ""  # the session ends: no tools are served on a refused start
    server.stdin.close()
    assert server.wait(timeout=30) == 1
    said = server.stderr.read()
    assert "the SDK answers it otherwise" in said and "Invalid request parameters" in said


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the descriptors in /proc")
def test_a_tool_and_what_it_starts_neither_read_nor_print_into_the_session(session: Session) -> None:
    assert [session.early["id"], session.listed["id"]] == [1, 2]  # it serves
    assert session.code == 0
    assert session.descriptors["0"] == os.devnull  # a child inherits no client's input
    assert session.descriptors["1"] == session.descriptors["2"]  # and prints to stderr, not into the session
