"""Local stand-ins for model APIs: a Gemini `generateContent` endpoint and an OpenAI-compatible
`chat/completions` endpoint, served on 127.0.0.1 from a script.

The real SDKs talk to them (base_url), so everything but the remote service is the real
thing. Used by the tests and by `conductor demo`, whose answers are scripted — and said to be.

A script is a list of replies. Each reply may name `match` strings that must all occur in
the request (so parallel forks each get their own answers); the first unused reply whose
matches fit is served. A reply is one of:

    {"json": {...}}            the answer's JSON (as the model's text)
    {"text": "..."}            the answer's text, verbatim (e.g. malformed JSON)
    {"status": 429}            an HTTP error
    {"delay": 3.0, ...}        wait first (then serve the rest of the reply)
    {"block": "SAFETY"}        a safety block
    {"empty": true}            a candidate with no text

`conductor.llm.fakemodel.SchemaFollowingModel` serves the same endpoints without a script: it
answers each request with an instance of the request's own schema.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

POLL_SECONDS = 0.05
"""How often the serving loop looks whether it was told to stop: `stop` waits up to this long."""


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    reply: dict[str, Any] = field(default_factory=dict)  # what was served (an error, an answer)

    @property
    def text(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class FakeModelServer:
    script: list[dict[str, Any]]
    flavor: str = "gemini"  # or "openai"
    seen: list[Seen] = field(default_factory=list)
    _used: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        base = f"http://127.0.0.1:{self._server.server_port}"
        return base + ("/v1" if self.flavor == "openai" else "")

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake._handle(self, Seen(self.path, dict(self.headers), body))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(POLL_SECONDS,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, seen: Seen) -> dict[str, Any]:
        with self._lock:
            self.seen.append(seen)
            seen.reply = self._reply(seen)
            return seen.reply

    def _reply(self, seen: Seen) -> dict[str, Any]:
        """The reply to a request (called in arrival order, under the lock)."""
        text = seen.text
        for index, reply in enumerate(self.script):
            if index in self._used:
                continue
            if all(needle in text for needle in reply.get("match", [])):
                self._used.add(index)
                return reply
        return {"status": 500, "message": "the fake model has no scripted reply for this request"}

    def _handle(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        valid_path = (
            ":generateContent" in seen.path
            if self.flavor == "gemini"
            else seen.path.endswith("/chat/completions")
        )
        reply: dict[str, Any] = (
            self._next(seen) if valid_path else {"status": 404, "message": f"no route {seen.path}"}
        )
        if reply.get("delay"):
            time.sleep(float(reply["delay"]))
        status = int(reply.get("status", 200))
        if status != 200:
            payload: dict[str, Any] = {
                "error": {
                    "code": status,
                    "message": reply.get("message", "scripted error"),
                    "status": "UNAVAILABLE" if status >= 500 else "RESOURCE_EXHAUSTED",
                }
            }
        elif self.flavor == "gemini":
            payload = _gemini(reply)
        else:
            payload = _openai(reply, seen)
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def _answer_text(reply: dict[str, Any]) -> str:
    if "text" in reply:
        return str(reply["text"])
    return json.dumps(reply.get("json", {}))


def _gemini(reply: dict[str, Any]) -> dict[str, Any]:
    usage = {
        "promptTokenCount": reply.get("input_tokens", 120),
        "candidatesTokenCount": reply.get("output_tokens", 80),
    }
    usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
    if reply.get("block"):
        return {"promptFeedback": {"blockReason": reply["block"]}, "usageMetadata": usage}
    parts = [] if reply.get("empty") else [{"text": _answer_text(reply)}]
    return {
        "candidates": [
            {
                "content": {"parts": parts, "role": "model"},
                "finishReason": reply.get("finish", "STOP"),
                "index": 0,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": reply.get("model", "fake-gemini"),
    }


def _openai(reply: dict[str, Any], seen: Seen) -> dict[str, Any]:
    content = None if reply.get("empty") else _answer_text(reply)
    finish = "content_filter" if reply.get("block") else "stop"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": seen.body.get("model", "fake"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ],
        "usage": {
            "prompt_tokens": reply.get("input_tokens", 120),
            "completion_tokens": reply.get("output_tokens", 80),
            "total_tokens": reply.get("input_tokens", 120) + reply.get("output_tokens", 80),
        },
    }
