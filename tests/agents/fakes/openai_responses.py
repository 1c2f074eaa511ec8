"""A stand-in for the OpenAI Responses API, as the Codex CLI (`codex exec`) speaks it.

Owns `FakeOpenAIResponses`: `POST {base}/responses` (server-sent events when the request says
`"stream": true`, as Codex always does, else one JSON `response` object), `GET {base}/models`
and `GET {base}/models/{id}`, and OpenAI-shaped errors (`{"error": {message, type, param,
code}}`) for anything else. `base_path` is "/v1": `url` is what a Codex provider's `base_url`
takes (Codex posts to `{base_url}/responses`).

What the model does comes from the `Script`, matched against the text of the latest user
message (Codex sends its `<environment_context>` as an earlier user message, then the prompt).
The Turn's files are written through the `apply_patch` tool the request declares: a "custom"
(freeform, grammar) tool for the model families that have it (e.g. "gpt-5.5"), or a function
whose one `input` is a string. Failing both, a declared shell function (`exec_command` with a
`cmd` string, `shell_command` with a `command` string, `shell` with a `command` array) runs
`apply_patch` with the patch, a form Codex intercepts and applies itself (Codex declares only
`exec_command` for model names it does not know). The patch has one `*** Add File:` hunk per
file, path relative to the working directory; Add overwrites an existing file (Codex refuses a
Delete and an Add of one path in one patch). Function arguments are validated against the
function's own JSON schema when `jsonschema` is importable.

A request whose input ends with a tool's output continues a turn: it gets that turn's `say` and
consumes nothing. No usable tool, no user text, a request Codex labels as other than its main
conversation (`x-codex-turn-metadata` "request_kind"), or no matching Turn: a plain text answer.

Set `fail_with = (status, code)` to answer every `/responses` request with that error, e.g.
`(500, "server_error")` or `(401, "invalid_api_key")`.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .base import AgentModelServer, Reply, Script, Seen, Turn

NOTHING_TO_DO = "I have no change to make for this request."
DEFAULT_MODELS = ("gpt-5.5",)
TOOL_OUTPUT_TYPES = frozenset(
    {"function_call_output", "custom_tool_call_output", "local_shell_call_output", "tool_search_output"}
)

Event = tuple[str, dict[str, Any]]


def openai_error(status: int, message: str, code: str | None = None, param: str | None = None) -> Reply:
    """An error in the OpenAI API's shape."""
    kind = {429: "rate_limit_error"}.get(status, "server_error" if status >= 500 else "invalid_request_error")
    error = {"message": message, "type": kind, "param": param, "code": code}
    return Reply(status=status, json={"error": error})


def message_text(item: dict[str, Any]) -> str:
    """The text of a Responses API message item (a string, or content parts with `text`)."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's `input` as a list of items (a bare string is one user message)."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, dict)]
    return []


def latest_user_text(items: Sequence[dict[str, Any]]) -> str:
    """The text of the last user message of the conversation."""
    for item in reversed(items):
        if item.get("role") == "user" and item.get("type", "message") == "message":
            return message_text(item)
    return ""


def build_patch(files: dict[str, str]) -> str:
    """An apply_patch envelope writing each file whole with an `*** Add File` hunk. Added lines
    are joined by newlines and end with one, so content without a final newline gains it and
    empty content becomes one empty line (the grammar needs at least one `+` line)."""
    lines = ["*** Begin Patch"]
    for path, content in files.items():
        lines.append(f"*** Add File: {path}")
        body = content[:-1] if content.endswith("\n") else content
        lines.extend("+" + line for line in body.split("\n"))
    lines.append("*** End Patch")
    return "\n".join(lines) + "\n"


def heredoc(patch: str) -> str:
    """`apply_patch <<'MARKER' … MARKER`, the shell form of the tool Codex intercepts."""
    marker = "PATCH"
    while marker in patch.split("\n"):
        marker += "_"
    return f"apply_patch <<'{marker}'\n{patch}{marker}\n"


def schema_accepts(schema: Any, arguments: dict[str, Any]) -> bool:
    """Whether `arguments` validate against a function tool's JSON schema (True if unsure)."""
    try:
        import jsonschema  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - the project venv has it
        return True
    if not isinstance(schema, dict):
        return True
    try:
        jsonschema.validate(arguments, schema)
    except jsonschema.ValidationError:
        return False
    return True


def _property_type(schema: Any, name: str) -> Any:
    props = schema.get("properties") if isinstance(schema, dict) else None
    prop = props.get(name) if isinstance(props, dict) else None
    return prop.get("type") if isinstance(prop, dict) else None


def plan_call(tools: Any, patch: str) -> tuple[str, str, str] | None:
    """How to send `patch` through a tool the request declares: (output item type, tool name,
    the custom tool's input or the function's JSON arguments), or None if none fits."""
    declared = [tool for tool in tools if isinstance(tool, dict)] if isinstance(tools, list) else []
    for tool in declared:
        grammar = str((tool.get("format") or {}).get("definition", ""))
        if tool.get("type") == "custom" and tool.get("name") == "apply_patch" and "Add File" in grammar:
            return "custom_tool_call", "apply_patch", patch
    candidates: list[tuple[int, str, dict[str, Any], Any]] = []
    for tool in declared:
        if tool.get("type") != "function":
            continue
        name, schema = str(tool.get("name", "")), tool.get("parameters")
        if name == "apply_patch" and _property_type(schema, "input") == "string":
            candidates.append((0, name, {"input": patch}, schema))
        elif name == "exec_command" and _property_type(schema, "cmd") == "string":
            candidates.append((1, name, {"cmd": heredoc(patch)}, schema))
        elif name == "shell_command" and _property_type(schema, "command") == "string":
            candidates.append((1, name, {"command": heredoc(patch)}, schema))
        elif name == "shell" and _property_type(schema, "command") == "array":
            candidates.append((2, name, {"command": ["apply_patch", patch]}, schema))
    for _, name, arguments, schema in sorted(candidates, key=lambda c: c[0]):
        if schema_accepts(schema, arguments):
            return "function_call", name, json.dumps(arguments)
    return None


def request_kind(seen: Seen) -> str | None:
    """What Codex says a request is for (`request_kind` in `x-codex-turn-metadata`; "turn" for
    its main conversation), or None when it does not say."""
    raw = next((v for k, v in seen.headers.items() if k.lower() == "x-codex-turn-metadata"), None)
    try:
        kind = json.loads(raw).get("request_kind") if raw else None
    except (ValueError, AttributeError):
        return None
    return str(kind) if kind else None


class FakeOpenAIResponses(AgentModelServer):
    """The OpenAI Responses API for the Codex CLI; see the module doc. `models` are the ids
    `GET /v1/models` lists."""

    base_path = "/v1"

    def __init__(self, script: Script | Sequence[Turn], models: Sequence[str] = DEFAULT_MODELS) -> None:
        super().__init__(script)
        self.models = list(models)
        self.fail_with: tuple[int, str] | None = None
        self.calls: dict[str, Turn] = {}  # call_id → the turn whose files it wrote
        self._ids = itertools.count(1)

    def reply(self, seen: Seen) -> Reply:
        path = seen.path.split("?", 1)[0].rstrip("/")
        if seen.method == "GET" and path == "/v1/models":
            return Reply(json={"object": "list", "data": [self._model(m) for m in self.models]})
        if seen.method == "GET" and path.startswith("/v1/models/"):
            name = path.removeprefix("/v1/models/")
            if name in self.models:
                return Reply(json=self._model(name))
            return openai_error(404, f"The model '{name}' does not exist", "model_not_found", "model")
        if seen.method == "POST" and path == "/v1/responses":
            if self.fail_with is not None:
                status, code = self.fail_with
                return openai_error(status, f"fake failure {status}", code)
            if not isinstance(seen.body, dict):
                return openai_error(400, "We could not parse the JSON body of your request.")
            return self._answer(seen.body, self._decide(seen, seen.body))
        return openai_error(404, f"Invalid URL ({seen.method} {seen.path})", "unknown_url")

    @staticmethod
    def _model(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 1700000000, "owned_by": "openai"}

    def _decide(self, seen: Seen, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The output items of the model's answer."""
        items = input_items(body)
        last = items[-1] if items else {}
        if last.get("type") in TOOL_OUTPUT_TYPES:  # the tool ran: close the turn
            seen.turn = self.calls.get(str(last.get("call_id")))
            return [self._message(seen.turn.say if seen.turn else "Done.")]
        text = latest_user_text(items)
        tools = body.get("tools")
        if not text or request_kind(seen) not in (None, "turn") or plan_call(tools, build_patch({})) is None:
            return [self._message(NOTHING_TO_DO)]
        turn = self.script.take(text)
        if turn is None:
            return [self._message(NOTHING_TO_DO)]
        planned = plan_call(tools, build_patch(turn.files))
        if planned is None:  # pragma: no cover - the same tools accepted the empty patch
            return [self._message(NOTHING_TO_DO)]
        kind, name, payload = planned
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        self.calls[call_id] = seen.turn = turn
        custom = kind == "custom_tool_call"
        item = {"type": kind, "id": self._id("ctc" if custom else "fc"), "call_id": call_id, "name": name}
        item["input" if custom else "arguments"] = payload
        return [{**item, "status": "completed"}]

    # ---- wire shapes ------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}{uuid.uuid4().hex[:20]}"

    def _message(self, text: str) -> dict[str, Any]:
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        return {
            "type": "message",
            "id": self._id("msg"),
            "status": "completed",
            "role": "assistant",
            "content": [part],
        }

    def _response(
        self, rid: str, body: dict[str, Any], status: str, output: list[dict[str, Any]], usage: Any
    ) -> dict[str, Any]:
        return {
            "id": rid,
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": body.get("model") or (self.models[0] if self.models else "gpt-5.5"),
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
            "store": body.get("store", True),
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    @staticmethod
    def _usage(body: dict[str, Any], output: list[dict[str, Any]]) -> dict[str, Any]:
        prompt = max(1, len(json.dumps(body.get("input", ""))) // 4)
        completion = max(1, len(json.dumps(output)) // 8)
        return {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }

    def _answer(self, body: dict[str, Any], output: list[dict[str, Any]]) -> Reply:
        rid = self._id("resp")
        done = self._response(rid, body, "completed", output, self._usage(body, output))
        if body.get("stream") is not True:
            return Reply(json=done)
        started = self._response(rid, body, "in_progress", [], None)
        return Reply(events=self._events(started, output, done))

    @staticmethod
    def _events(
        started: dict[str, Any], output: list[dict[str, Any]], done: dict[str, Any]
    ) -> Iterator[tuple[str | None, Any]]:
        """The documented streaming sequence: created, in_progress, per output item (added,
        its deltas and done events, done), completed (with usage)."""
        sequence = itertools.count()

        def event(kind: str, **fields: Any) -> Event:
            return kind, {"type": kind, "sequence_number": next(sequence), **fields}

        yield event("response.created", response=started)
        yield event("response.in_progress", response=started)
        for index, item in enumerate(output):
            yield from _item_events(event, index, item)
        yield event("response.completed", response=done)


def _item_events(event: Callable[..., Event], index: int, item: dict[str, Any]) -> Iterator[Event]:
    ids = {"item_id": item["id"], "output_index": index}
    if item["type"] == "message":
        part = item["content"][0]
        pending = {**item, "status": "in_progress", "content": []}
        yield event("response.output_item.added", output_index=index, item=pending)
        yield event("response.content_part.added", **ids, content_index=0, part={**part, "text": ""})
        yield event("response.output_text.delta", **ids, content_index=0, delta=part["text"], logprobs=[])
        yield event("response.output_text.done", **ids, content_index=0, text=part["text"], logprobs=[])
        yield event("response.content_part.done", **ids, content_index=0, part=part)
    elif item["type"] == "custom_tool_call":
        pending = {**item, "status": "in_progress", "input": ""}
        yield event("response.output_item.added", output_index=index, item=pending)
        yield event("response.custom_tool_call_input.delta", **ids, delta=item["input"])
        yield event("response.custom_tool_call_input.done", **ids, input=item["input"])
    else:  # function_call
        pending = {**item, "status": "in_progress", "arguments": ""}
        yield event("response.output_item.added", output_index=index, item=pending)
        yield event("response.function_call_arguments.delta", **ids, delta=item["arguments"])
        yield event(
            "response.function_call_arguments.done", **ids, name=item["name"], arguments=item["arguments"]
        )
    yield event("response.output_item.done", output_index=index, item=item)
