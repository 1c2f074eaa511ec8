"""The fake Anthropic Messages API that Claude Code talks to (`FakeAnthropic`).

It owns the Anthropic wire shapes: `POST /v1/messages` (streamed as server-sent events when the
request asks for `stream`, else one JSON message), `POST /v1/messages/count_tokens`,
`GET /v1/models[/{id}]`, the `HEAD` connectivity probe, and errors in the API's
`{"type": "error", "error": {...}}` shape.

How a turn plays out (Claude Code's `Write` refuses to overwrite a file the conversation has not
`Read`, and its `Edit` needs the old text): for the latest real user prompt the script's turn
is taken; the model first calls the declared read tool on every file of the turn, then, once
the results are back, the declared write tool (or, failing that, the edit tool) on each file,
and when those results are back it says the turn's `say` and ends its turn. Continuations are
recognised from the conversation (tool results after the prompt) and never consume a turn.
Paths are made absolute with the working directory that Claude Code states in its prompt.
Requests that declare no file tool (titles, summaries, side questions) get plain text.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import urlsplit

from .base import AgentModelServer, Reply, Script, Seen, Turn

JSON = dict[str, Any]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

NOTHING_TO_DO = "I have no change to make for this request."

_CWD_PATTERNS = (
    re.compile(r"Primary working directory:\s*(/[^\n]*)"),
    re.compile(r"[Ww]orking directory:\s*(/[^\n]*)"),
)
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)
_READ_LINE = re.compile(r"^\s*\d+(?:[\t→](.*))?$")  # "12<tab>text"; an empty last line is "13"


def anthropic_error(status: int, message: str) -> Reply:
    """An error answer as the Anthropic API sends it."""
    request_id = f"req_{uuid.uuid4().hex[:24]}"
    body = {
        "type": "error",
        "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
        "request_id": request_id,
    }
    return Reply(status=status, json=body, headers={"request-id": request_id})


@dataclass
class _Tools:
    """The file tools a request declares (name → declaration)."""

    read: JSON | None = None
    write: JSON | None = None
    edit: JSON | None = None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> _Tools:
        declared = [
            tool
            for tool in body.get("tools") or []
            if isinstance(tool, dict) and isinstance(tool.get("input_schema"), dict)
        ]  # server tools (web search...) have no input schema

        def pick(name: str, fits: Callable[[JSON], bool]) -> JSON | None:
            named = [tool for tool in declared if tool.get("name") == name and fits(tool)]
            return next(iter(named), None) or next((tool for tool in declared if fits(tool)), None)

        def writes(tool: JSON) -> bool:
            props = _schema_props(tool)
            return _path_key(props) is not None and "content" in props

        def edits(tool: JSON) -> bool:
            props = _schema_props(tool)
            return _path_key(props) is not None and {"old_string", "new_string"} <= props

        def reads(tool: JSON) -> bool:
            required = set(tool["input_schema"].get("required") or [])
            return (
                "read" in str(tool.get("name", "")).lower()
                and len(required) == 1
                and bool(_path_key(required))
            )

        return cls(read=pick("Read", reads), write=pick("Write", writes), edit=pick("Edit", edits))


def _path_key(props: set[str]) -> str | None:
    for key in ("file_path", "path", "absolute_path"):
        if key in props:
            return key
    return None


def _schema_props(tool: Mapping[str, Any]) -> set[str]:
    return set((tool.get("input_schema") or {}).get("properties") or {})


def _valid(tool: Mapping[str, Any], arguments: JSON) -> bool:
    """Whether `arguments` fit the tool's own input schema."""
    try:
        from jsonschema.validators import validator_for  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - the project's venv has it
        return True
    schema = tool.get("input_schema") or {}
    return bool(validator_for(schema)(schema).is_valid(arguments))


def _texts(content: Any) -> Iterator[str]:
    """Every text in a message content (a string or a list of blocks, nested in tool results)."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, dict):
                if isinstance(block.get("text"), str):
                    yield block["text"]
                if "content" in block:
                    yield from _texts(block["content"])


def _blocks(message: Mapping[str, Any]) -> list[JSON]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


@dataclass
class _Progress:
    """What the conversation since the prompt already did for the turn."""

    calls: dict[str, tuple[str, JSON]] = field(default_factory=dict)  # tool_use id → (name, input)
    results: dict[str, tuple[bool, str]] = field(default_factory=dict)  # id → (is_error, text)

    def done(self, tool: JSON | None, path: str) -> list[tuple[bool, str]]:
        """The results of the calls of `tool` on `path` (is_error, text)."""
        if tool is None:
            return []
        key = _path_key(_schema_props(tool))
        return [
            self.results[call_id]
            for call_id, (name, arguments) in self.calls.items()
            if name == tool["name"] and key and arguments.get(key) == path and call_id in self.results
        ]


class FakeAnthropic(AgentModelServer):
    """The Anthropic Messages API for Claude Code (point ANTHROPIC_BASE_URL at `url`).

    `fail_status`, when set, makes every `/v1/messages` request fail with that HTTP status
    (for the error-path tests). `models` are the ids `GET /v1/models` lists.
    """

    base_path = ""  # the client appends /v1/messages itself

    def __init__(
        self,
        script: Script | Sequence[Turn],
        *,
        fail_status: int | None = None,
        models: Sequence[str] = ("claude-sonnet-4-5",),
    ) -> None:
        super().__init__(script)
        self.fail_status = fail_status
        self.models = list(models)
        self._active: dict[tuple[str, str], Turn] = {}  # (session, prompt) → the turn it took

    # -- HTTP ------------------------------------------------------------------------------

    def start(self) -> Self:
        super().start()
        assert self._server is not None
        fake = self

        def do_head(handler: BaseHTTPRequestHandler) -> None:  # the CLI's connectivity probe
            with fake.lock:
                fake.seen.append(Seen("HEAD", handler.path, dict(handler.headers), None, 200))
            handler.send_response(200)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        self._server.RequestHandlerClass.do_HEAD = do_head  # type: ignore[attr-defined]
        return self

    def reply(self, seen: Seen) -> Reply:
        path = urlsplit(seen.path).path.rstrip("/")
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.method == "GET" and path == "/v1/models":
            return Reply(json=self._model_list())
        if seen.method == "GET" and path.startswith("/v1/models/"):
            model = path.removeprefix("/v1/models/")
            if model not in self.models:
                return anthropic_error(404, f"model: {model}")
            return Reply(json=self._model(model))
        if seen.method == "POST" and path == "/v1/messages/count_tokens":
            return Reply(json={"input_tokens": _estimate_tokens(body)})
        if seen.method == "POST" and path == "/v1/messages":
            if self.fail_status is not None:
                return anthropic_error(self.fail_status, f"fake failure {self.fail_status}")
            if not isinstance(body.get("messages"), list) or not body.get("model"):
                return anthropic_error(400, "messages and model are required")
            return self._answer(seen, body)
        return anthropic_error(404, f"Not found: {seen.method} {path}")

    def _model(self, model: str) -> JSON:
        return {
            "type": "model",
            "id": model,
            "display_name": model,
            "created_at": "2025-01-01T00:00:00Z",
        }

    def _model_list(self) -> JSON:
        data = [self._model(model) for model in self.models]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    # -- the model -------------------------------------------------------------------------

    def _answer(self, seen: Seen, body: JSON) -> Reply:
        blocks, turn = self._decide(seen, body)
        seen.turn = turn
        stop_reason = "tool_use" if any(block["type"] == "tool_use" for block in blocks) else "end_turn"
        message: JSON = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": blocks,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": _estimate_tokens(body),
                "output_tokens": max(1, len(json.dumps(blocks)) // 4),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
        headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
        if body.get("stream"):
            return Reply(events=list(_stream(message)), headers=headers)
        return Reply(json=message, headers=headers)

    def _decide(self, seen: Seen, body: JSON) -> tuple[list[JSON], Turn | None]:
        messages: list[JSON] = [m for m in body["messages"] if isinstance(m, dict)]
        start = _prompt_index(messages)
        if start is None:
            return [_text(NOTHING_TO_DO)], None
        prompt = _prompt_text(messages[start])
        session = next((v for k, v in seen.headers.items() if k.lower() == "x-claude-code-session-id"), "")
        key = (session, prompt)
        later = messages[start + 1 :]
        if not any(message.get("role") == "assistant" for message in later):  # a new prompt
            tools = _Tools.of(body)
            if tools.write is None and tools.edit is None:
                return [_text(NOTHING_TO_DO)], None  # no file tool: a side request, or no way to act
            turn = self._active.get(key) or self.script.take(prompt)  # a retried request reuses it
            if turn is None:
                return [_text(NOTHING_TO_DO)], None
            self._active[key] = turn
        else:
            found = self._active.get(key)
            if found is None:
                return [_text(NOTHING_TO_DO)], None
            turn = found
        return _next_step(turn, body, _progress(later)), turn


def _prompt_index(messages: list[JSON]) -> int | None:
    """The index of the latest user message that is a real prompt (not only tool results)."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") != "user":
            continue
        blocks = _blocks(message)
        if any(block.get("type") == "tool_result" for block in blocks):
            continue
        if _prompt_text(message).strip():
            return index
    return None


def _prompt_text(message: Mapping[str, Any]) -> str:
    """The user's own words: the message's text blocks without Claude Code's reminders."""
    parts = [
        _REMINDER.sub("", block["text"]).strip()
        for block in _blocks(message)
        if block.get("type") == "text" and isinstance(block.get("text"), str)
    ]
    return "\n".join(part for part in parts if part)


def _progress(later: list[JSON]) -> _Progress:
    progress = _Progress()
    for message in later:
        for block in _blocks(message):
            if block.get("type") == "tool_use" and isinstance(block.get("input"), dict):
                progress.calls[str(block.get("id"))] = (str(block.get("name")), block["input"])
            elif block.get("type") == "tool_result":
                text = "\n".join(_texts(block.get("content")))
                progress.results[str(block.get("tool_use_id"))] = (bool(block.get("is_error")), text)
    return progress


def _working_directory(body: JSON) -> str | None:
    texts = list(_texts(body.get("system")))
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            texts.extend(_texts(message.get("content")))
    for pattern in _CWD_PATTERNS:
        for text in texts:
            match = pattern.search(text)
            if match:
                return match.group(1).strip().rstrip("/") or "/"
    return None


def _next_step(turn: Turn, body: JSON, progress: _Progress) -> list[JSON]:
    """The blocks of the model's next answer for `turn`, given what was done so far."""
    tools = _Tools.of(body)
    cwd = _working_directory(body)
    if cwd is None:
        return [_text("I cannot tell the working directory, so I change nothing.")]
    targets = {f"{cwd}/{relpath.lstrip('/')}": content for relpath, content in turn.files.items()}

    failures: list[str] = []
    unread: list[str] = []
    unwritten: list[tuple[str, str]] = []
    for path, content in targets.items():
        writes = progress.done(tools.write, path) + progress.done(tools.edit, path)
        if writes:
            failures.extend(
                f"{path}: {_REMINDER.sub('', text).strip()}" for is_error, text in writes[-1:] if is_error
            )
            continue
        if tools.read is not None and not progress.done(tools.read, path):
            unread.append(path)
        else:
            unwritten.append((path, content))

    if unread:
        assert tools.read is not None
        key = _path_key(_schema_props(tools.read)) or "file_path"
        calls = [_tool_use(tools.read, {key: path}) for path in unread]
        return [_text("Let me read the files first."), *(call for call in calls if call is not None)]
    if unwritten:
        calls = [_write_call(tools, progress, path, content) for path, content in unwritten]
        kept = [call for call in calls if call is not None]
        if kept:
            return [_text("Writing the files."), *kept]
        return [_text("I cannot write these files with the tools I have, so I change nothing.")]
    if failures:
        return [_text("I could not write the files:\n" + "\n".join(failures))]
    return [_text(turn.say)]


def _write_call(tools: _Tools, progress: _Progress, path: str, content: str) -> JSON | None:
    """A call of the write tool (or, without one, of the edit tool) that gives `path` `content`."""
    if tools.write is not None:
        props = _schema_props(tools.write)
        key = _path_key(props) or "file_path"
        return _tool_use(tools.write, {key: path, "content": content})
    if tools.edit is not None:
        reads = progress.done(tools.read, path)
        old = "" if not reads or reads[-1][0] else _strip_read_prefixes(reads[-1][1])
        if old is None or old == content:
            return None
        key = _path_key(_schema_props(tools.edit)) or "file_path"
        return _tool_use(tools.edit, {key: path, "old_string": old, "new_string": content})
    return None


def _strip_read_prefixes(text: str) -> str | None:
    """The file text from a `cat -n`-style read result, or None if it is not one."""
    text = _REMINDER.sub("", text).rstrip("\n")
    lines = []
    for line in text.split("\n"):
        match = _READ_LINE.match(line)
        if match is None:
            return None
        lines.append(match.group(1) or "")
    return "\n".join(lines)


def _tool_use(tool: Mapping[str, Any], arguments: JSON) -> JSON | None:
    if not _valid(tool, arguments):
        return None
    return {
        "type": "tool_use",
        "id": f"toolu_{uuid.uuid4().hex[:24]}",
        "name": tool["name"],
        "input": arguments,
    }


def _text(text: str) -> JSON:
    return {"type": "text", "text": text}


def _estimate_tokens(body: Mapping[str, Any]) -> int:
    return max(1, len(json.dumps(body, ensure_ascii=False)) // 4)


def _chunks(text: str, size: int = 64) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _stream(message: JSON) -> Iterator[tuple[str | None, Any]]:
    """The server-sent events of `message`, as the Messages API streams it."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            for piece in _chunks(block["text"]):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
        else:
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "input": {}},
                },
            )
            for piece in _chunks(json.dumps(block["input"], ensure_ascii=False)):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": message["usage"]["output_tokens"]},
        },
    )
    yield "message_stop", {"type": "message_stop"}
