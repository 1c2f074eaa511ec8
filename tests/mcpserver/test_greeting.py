"""`conductor mcp` answers a client's `initialize` before it loads the SDK (greeting.py): the
answer is the SDK's own, for every protocol version a client may ask for, and the session then
goes on with the SDK as if it had answered — its second answer never reaches the client, and
where it is not the one given (a request the SDK refuses) the session ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from conductor.mcpserver import greeting
from tests.conftest import PYTHON, conductor_bin

SDK_ANSWERS = (
    "import sys\n"
    "from conductor.mcpserver import server\n"
    "from conductor.mcpserver.greeting import Opening\n"
    "wire = sys.stdin.buffer, sys.stdout.buffer\n"
    "server.serve_stdio(Opening(wire[0].readline().decode(), None, *wire))\n"
)
"""`conductor mcp` with the SDK answering the first line itself."""


def initialize(version: str, ident: int | str = 1) -> str:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "ide", "version": "1"}}
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "initialize", "params": params}) + "\n"


def first_answer(command: list[str], line: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(command, input=line, capture_output=True, text=True, cwd=cwd, timeout=60)
    return json.loads(done.stdout.splitlines()[0])


def test_the_versions_it_negotiates_are_the_sdks() -> None:
    assert greeting.HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


@pytest.mark.parametrize(
    ("version", "ident"),
    [*((v, 1) for v in HANDSHAKE_PROTOCOL_VERSIONS), ("2026-07-28", "one"), ("1999-01-01", 7)],
)
def test_its_answer_to_initialize_is_the_sdks(project: Path, version: str, ident: int | str) -> None:
    line = initialize(version, ident)
    said = greeting.answer(line)
    assert said is not None and said[1] == ident
    assert json.loads(said[0]) == first_answer([PYTHON, "-c", SDK_ANSWERS], line, project)


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


def test_the_session_goes_on_after_the_early_answer_without_a_second_one(project: Path) -> None:
    server = serving(project, initialize("2025-11-25"))
    assert server.stdin is not None and server.stdout is not None
    assert json.loads(server.stdout.readline())["id"] == 1
    server.stdin.write(INITIALIZED + LIST_TOOLS)
    server.stdin.flush()
    listed = json.loads(server.stdout.readline())  # not the SDK's answer to request 1 again
    assert listed["id"] == 2 and "claim_task" in [tool["name"] for tool in listed["result"]["tools"]]
    server.stdin.close()
    assert server.wait(timeout=30) == 0 and server.stdout.read() == ""


def test_an_initialize_the_sdk_refuses_ends_the_session_it_was_answered_in(project: Path) -> None:
    malformed = initialize("2025-11-25").replace('"capabilities": {}', '"capabilities": {"roots": "yes"}')
    assert greeting.answer(malformed) is not None  # answered early: only the SDK's schema refuses it
    server = serving(project, malformed, INITIALIZED, LIST_TOOLS)
    assert server.stdin is not None and server.stdout is not None and server.stderr is not None
    assert json.loads(server.stdout.readline())["id"] == 1
    assert server.stdout.readline() == ""  # the session ends: no tools are served on a refused start
    server.stdin.close()
    assert server.wait(timeout=30) == 1
    said = server.stderr.read()
    assert "the SDK answers it otherwise" in said and "Invalid request parameters" in said


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the descriptors in /proc")
def test_a_tool_and_what_it_starts_neither_read_nor_print_into_the_session(project: Path) -> None:
    server = serving(project, initialize("2025-11-25"), INITIALIZED, LIST_TOOLS)
    assert server.stdin is not None and server.stdout is not None
    assert [json.loads(server.stdout.readline())["id"] for _ in range(2)] == [1, 2]  # it serves
    fds = f"/proc/{server.pid}/fd"
    seen = {fd: os.readlink(f"{fds}/{fd}") for fd in ("0", "1", "2")}
    server.stdin.close()
    assert server.wait(timeout=30) == 0
    assert seen["0"] == os.devnull  # a child inherits no client's input
    assert seen["1"] == seen["2"]  # and prints to stderr, not into the session
