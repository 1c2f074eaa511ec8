"""The first answer of `conductor mcp` over stdio, before the SDK is loaded.

An IDE starts the server and sends `initialize` at once; importing the SDK takes a second (its
package loads its client, server and the pydantic types of every protocol version). So the
server reads the client's first line itself and, when it is an `initialize` request, answers it
from here — the answer the SDK gives (name, version, instructions, capabilities, the protocol
version it negotiates), which tests/mcpserver/test_greeting.py checks against the SDK's own —
then loads the SDK and hands it the session from the start: the same first line, whose second
answer is dropped (`Answered`) when it is the one given, and ends the session when it is not (a
request the SDK refuses, or an SDK that negotiates otherwise: the client must not go on
believing what the SDK does not). Any other first message waits for the SDK, as before.

The session runs on descriptors of the server's own (`claim_stdio`), as the SDK's stdio_server
runs it when it opens the streams itself: a tool, or a process a tool starts, reads nothing of
the client's and prints nothing into the session.

Cheap to import: no SDK, no pydantic.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

from conductor import __version__
from conductor.errors import ConductorError

NAME = "conductor"
INSTRUCTIONS = (
    "Conductor runs plans of steps in a git repository, each step done by an agent and judged by"
    " Conductor. As the agent: list_tasks, claim_task, edit the task's workspace (only its"
    " allowed_files), submit_result, then task_verdict. To drive Conductor: status, explain, events,"
    " compare, diff, verify, and build, explore, resume, approve, reject (long runs, with progress)."
)
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
"""The protocol versions the SDK negotiates in an `initialize` handshake, oldest first (its
mcp_types.version.HANDSHAKE_PROTOCOL_VERSIONS): a client's is taken, any other gets the newest."""
CAPABILITIES = {"resources": {"listChanged": False, "subscribe": False}, "tools": {"listChanged": False}}


@dataclass(frozen=True)
class Opening:
    """How a session began: the client's first line, the answer already given to it from here
    (None: the SDK answers it), and the channel the session goes on over."""

    line: str
    answered: str | None
    reader: BinaryIO
    writer: BinaryIO


def claim_stdio() -> tuple[BinaryIO, BinaryIO]:
    """The client's channel on descriptors of the server's own (closed on exec: no child gets
    them), with fd 0 then reading the null device and fd 1 writing to stderr — what the SDK's
    stdio_server does with streams it opens itself, and skips for streams it is given. Where the
    descriptors cannot be moved, the channel stays where it is."""
    try:  # everything that can fail, before a descriptor moves
        reader = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        writer = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
        os.fstat(2)
        null = os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return sys.stdin.buffer, sys.stdout.buffer
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return os.fdopen(reader, "rb"), os.fdopen(writer, "wb")


def answer(line: str) -> tuple[str, int | str] | None:
    """The answer to `line` and its id, when `line` is an `initialize` request as the SDK takes
    it; None for anything else (the SDK then answers, or refuses, as it does)."""
    try:
        request = json.loads(line)
    except ValueError:
        return None
    if (
        not isinstance(request, dict)
        or request.get("jsonrpc") != "2.0"
        or request.get("method") != "initialize"
    ):
        return None
    ident, params = request.get("id"), request.get("params")
    if not isinstance(ident, int | str) or isinstance(ident, bool) or not isinstance(params, dict):
        return None
    version, client = params.get("protocolVersion"), params.get("clientInfo")
    if not isinstance(version, str) or not isinstance(params.get("capabilities"), dict):
        return None
    if not isinstance(client, dict) or not all(isinstance(client.get(k), str) for k in ("name", "version")):
        return None
    result = {
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
        "protocolVersion": version if version in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1],
        "serverInfo": {"name": NAME, "version": __version__},
    }
    return json.dumps({"jsonrpc": "2.0", "id": ident, "result": result}, separators=(",", ":")), ident


def open_session(stdin: BinaryIO, stdout: BinaryIO) -> Opening:
    """Read the client's first line; answer it now when it is `initialize`."""
    line = stdin.readline().decode("utf-8", errors="replace")
    said = answer(line)
    if said is None:
        return Opening(line, None, stdin, stdout)
    stdout.write((said[0] + "\n").encode("utf-8"))
    stdout.flush()
    return Opening(line, said[0], stdin, stdout)


class Replayed:
    """The client's messages for the SDK: the first line again, then the rest of stdin."""

    def __init__(self, first: str, rest: TextIO) -> None:
        self.first, self.rest = first, rest

    def readline(self) -> str:
        if self.first:
            line, self.first = self.first, ""
            return line
        return self.rest.readline()


class Diverged(ConductorError):
    """The SDK answered the first request otherwise than the answer the client already has."""


class Answered:
    """The SDK's messages for the client, less its answer to the request already answered —
    which must be that answer (`Diverged` when it is not)."""

    def __init__(self, wire: TextIO, answered: str | None) -> None:
        self.wire = wire
        self.answered: dict[str, Any] | None = json.loads(answered) if answered is not None else None
        self.diverged: Diverged | None = None

    def write(self, text: str) -> int:
        given = self.answered
        if given is not None and (message := _response(text, given["id"])) is not None:
            self.answered = None
            if message != given:
                self.diverged = Diverged(
                    "conductor mcp answered the client's initialize before loading the SDK, and the"
                    f" SDK answers it otherwise: {text.strip()[:500]}",
                    hint="an error here means the client's initialize is malformed: correct it; a"
                    " result means this mcp SDK negotiates otherwise than conductor/mcpserver/greeting.py"
                    " (report it, with `pip show mcp`)",
                )
                self.wire.close()  # the client sees the session end now
                raise self.diverged
            return len(text)  # the client has it already
        return self.wire.write(text)

    def flush(self) -> None:
        self.wire.flush()


def _response(text: str, ident: int | str) -> dict[str, Any] | None:
    """`text` when it is the response to request `ident`."""
    try:
        message: Any = json.loads(text)
    except ValueError:
        return None
    if isinstance(message, dict) and message.get("id") == ident and "method" not in message:
        return message
    return None
