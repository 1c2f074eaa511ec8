"""The HTTP plumbing and the script shared by the agent model fakes (see the package doc)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Turn:
    """One decision of the model: write these files (path relative to the workspace → the
    file's whole new content), then say `say`."""

    match: Sequence[str]
    files: dict[str, str]
    say: str = "Done: the files are written."


@dataclass
class Script:
    turns: list[Turn]
    used: list[int] = field(default_factory=list)

    def take(self, text: str) -> Turn | None:
        """The first unused turn whose match strings all occur in `text` (marked used)."""
        for index, turn in enumerate(self.turns):
            if index not in self.used and all(needle in text for needle in turn.match):
                self.used.append(index)
                return turn
        return None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body (None for a GET)
    status: int = 0  # what was answered
    turn: Turn | None = None  # the turn served, if any

    @property
    def text(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class Reply:
    """What to send: `json` as one body, or `events` as server-sent events."""

    status: int = 200
    json: Any = None
    events: Iterable[tuple[str | None, Any]] | None = None  # (event name or None, data)
    headers: dict[str, str] = field(default_factory=dict)


class AgentModelServer:
    """A threaded HTTP server on 127.0.0.1 that records every request in `seen` and answers
    each with `reply` (override it). Use as a context manager; `url` is its base address."""

    base_path = ""  # appended to the server's address in `url` (e.g. "/v1")

    def __init__(self, script: Script | Sequence[Turn]) -> None:
        self.script = script if isinstance(script, Script) else Script(list(script))
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def reply(self, seen: Seen) -> Reply:  # pragma: no cover - every provider overrides it
        raise NotImplementedError

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                seen = Seen(method, self.path, dict(self.headers), body)
                with fake.lock:
                    fake.seen.append(seen)
                    reply = fake.reply(seen)
                    seen.status = reply.status
                fake._send(self, reply)

            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()  # stop fast
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            if reply.events is None:
                data = json.dumps(reply.json).encode()
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)
                return
            handler.send_header("Content-Type", "text/event-stream")
            handler.send_header("Cache-Control", "no-cache")
            handler.send_header("Connection", "close")
            handler.end_headers()
            for name, data in reply.events:
                chunk = (
                    f"event: {name}\n" if name else ""
                ) + f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"
                handler.wfile.write(chunk.encode())
                handler.wfile.flush()
            handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up


def error(status: int, message: str, **extra: Any) -> Reply:
    """An error body in the common `{"error": {...}}` shape (providers adjust it)."""
    return Reply(status=status, json={"error": {"message": message, **extra}})
