"""A tiny JSON-over-HTTP service host on 127.0.0.1, built on the standard library's ThreadingHTTPServer.

Each fake service is an `App`: a callable from `Request` to `Response` that may raise `HttpError`.
A `Service` binds an ephemeral port at once (so its URL is known before the app is built), then
serves one app from a daemon thread until closed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_logger = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024
REQUEST_TIMEOUT = 30  # seconds
POLL_INTERVAL = 0.05  # seconds: how fast `close` stops the serving loop


class HttpError(Exception):
    """An error answered as `{"code": status, "message": message}`, the shape Fulcio and Rekor use."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(400, f"request body is not JSON: {exc}") from exc


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), headers=headers or {})


App = Callable[[Request], Response]


def _handler_for(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0 (the default): one request per connection, so a closed service keeps no
        # kept-alive connections answering; the timeout bounds a client that stalls mid-request.
        timeout = REQUEST_TIMEOUT

        def _serve(self) -> None:
            url = urlsplit(self.path)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._send(Response.json({"code": 400, "message": "bad or too large Content-Length"}, 400))
                return
            request = Request(
                method=self.command,
                path=url.path.rstrip("/") or "/",
                query=parse_qs(url.query),
                headers=self.headers,
                body=self.rfile.read(length) if length else b"",
            )
            try:
                response = app(request)
            except HttpError as exc:
                response = Response.json({"code": exc.status, "message": exc.message}, exc.status)
            except Exception as exc:  # a bug in the fake: answer 500 and keep serving
                _logger.exception("fake sigstore service failed on %s %s", self.command, self.path)
                response = Response.json({"code": 500, "message": f"internal error: {exc}"}, 500)
            self._send(response)

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            _logger.debug("%s - %s", self.address_string(), format % args)

    return Handler


class Service:
    """Binds http://127.0.0.1:<ephemeral port> at once (so `url` is known), then serves an app."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._app: App | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self._dispatch))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread: threading.Thread | None = None

    def _dispatch(self, request: Request) -> Response:
        if self._app is None:
            raise HttpError(503, f"{self.name} is not serving yet")
        return self._app(request)

    def serve(self, app: App) -> None:
        """Start answering requests with `app` from a daemon thread."""
        self._app = app
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), name=f"fake-{self.name}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
