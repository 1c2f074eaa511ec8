"""What the MCP tests share within one test process: a `conductor mcp` start imports the MCP
SDK (about a second of CPU), so a server whose answers several tests check is started once,
on a project of its own that it only reads."""

from __future__ import annotations

import functools
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.server.lowlevel import Server

from conductor.mcpserver.server import build
from tests.conftest import Result, _initialized, conductor_bin, free_port, wait_until
from tests.scenario import Project


@functools.cache
def conductors() -> Server[Any]:
    """Conductor's server, as `conductor mcp` builds it, for the clients in this test process:
    built once (a build makes every tool's schemas, about 0.1 s), as it keeps nothing of a
    session — a tool finds its repository from the current directory when it is called."""
    return build()


def copied_project(tmp_path_factory: pytest.TempPathFactory, kind: str, name: str) -> Project:
    """A copy of the `project` ("project") or `proj` ("proj") this test process made (see
    tests/conftest.py), at a place of its own under `name`, for a fixture wider than one test."""
    from conductor.cli import main

    def run_cli(*args: str) -> Result:
        return Result(main(list(args)), "", "")

    with pytest.MonkeyPatch.context() as patch:
        made = _initialized(kind, tmp_path_factory, patch, run_cli)
    parent = tmp_path_factory.mktemp(name)
    shutil.copytree(made, parent / "proj", symlinks=True)
    (parent / "scripts").mkdir()
    return Project(parent / "proj", parent / "scripts")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `conductor init` project, no plan in it, that the shared servers serve."""
    return copied_project(tmp_path_factory, "project", "served").root


Listing = tuple[list[str], Any]
"""What a client of a stdio server saw: the tools' names, and list_tasks' result."""


@pytest.fixture(scope="session")
def stdio_listing() -> Callable[[list[str], Path], Listing]:
    """`stdio_listing(args, where)`: what the SDK's client sees of `conductor ARGS` started in
    `where` (its tools, and list_tasks' result), the server started once per arguments and place."""
    seen: dict[tuple[tuple[str, ...], Path], Listing] = {}

    async def session(args: list[str], where: Path) -> Listing:
        started = StdioServerParameters(command=conductor_bin(), args=args, cwd=str(where))
        async with Client(started) as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            return tools, await client.call_tool("list_tasks", {})

    def listing(args: list[str], where: Path) -> Listing:
        key = (tuple(args), where)
        if key not in seen:
            seen[key] = anyio.run(session, args, where)
        return seen[key]

    return listing


@pytest.fixture(scope="session")
def http_served(served: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """http://127.0.0.1:PORT, where one `conductor mcp --http PORT` serves `served`."""
    port = free_port()
    log = tmp_path_factory.mktemp("http") / "stderr"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [conductor_bin(), "mcp", "--http", str(port)], cwd=served, stderr=stderr, text=True
        )

        def listening() -> bool:
            if server.poll() is not None:
                raise AssertionError(f"conductor mcp --http exited {server.returncode}: {log.read_text()}")
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        try:
            wait_until(listening, what=f"conductor mcp listening on 127.0.0.1:{port} ({log})")
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=30)
