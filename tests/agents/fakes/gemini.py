"""The Gemini API fake (generativelanguage `v1beta`) that the real Gemini CLI talks to in the tests.

It owns the wire protocol the CLI (and the google-genai SDKs) speak with an API key:

- `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`: server-sent events, each `data:` a
  `GenerateContentResponse` chunk (`candidates[].content.parts`, `finishReason`, `usageMetadata`,
  `modelVersion`, `responseId`);
- `POST /v1beta/models/{model}:generateContent`: the same response as one JSON body;
- `POST /v1beta/models/{model}:countTokens`: `{"totalTokens": n}`;
- `GET /v1beta/models` and `GET /v1beta/models/{model}`: a small model list / one model.

The main conversation (a request declaring `tools[].functionDeclarations`) takes the first
matching `Turn` on the text of its latest user message (without the CLI's `<session_context>`
preamble) and writes the turn's files with `functionCall` parts for a declared writing tool
(`write_file {file_path, content}` in Gemini CLI, or any function whose schema has a path and a
content property), with arguments checked against that function's own schema and absolute paths
under the workspace directory the CLI names in its prompt. A request whose conversation ends with
`functionResponse` parts continues the turn: it gets the turn's `say` and `finishReason: STOP`,
and consumes nothing. Side requests (no functions declared, or a `responseJsonSchema` /
`responseSchema` such as the model router's classifier) never consume a turn: they get a short
text, or the smallest JSON that fits the requested schema. Errors use Google's
`{"error": {"code", "message", "status"}}` shape; `fail=(status, message)` makes every model
call fail that way (to observe the CLI's error handling).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .base import AgentModelServer, Reply, Script, Seen, Turn

try:  # the project's dev environment has jsonschema; without it the arguments are not checked
    import jsonschema  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover
    jsonschema = None  # type: ignore[assignment, unused-ignore]

__all__ = ["STATUS_NAMES", "FakeGeminiAPI", "gemini_error", "sample"]

# Google's canonical error codes as the Gemini API names them in `error.status`.
STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

SESSION_CONTEXT = "<session_context>"
PATH_KEYS = ("file_path", "absolute_path", "path", "filepath", "filename")
CONTENT_KEYS = ("content", "contents", "text", "file_text")
# How the CLI names the workspace in its first user message (newer and older wordings).
WORKSPACE_PATTERNS = (
    re.compile(r"Workspace Directories:\*\*\s*\n\s*-\s*(/[^\n]*)"),
    re.compile(r"working in the directory:?\s*(/[^\s`'\"]+)", re.IGNORECASE),
)
MODEL_ACTION = re.compile(r"^/v1(?:beta|alpha)?/models/([^/:]+):(\w+)$")
MODEL_INFO = re.compile(r"^/v1(?:beta|alpha)?/models(?:/([^/:]+))?$")


def gemini_error(status: int, message: str) -> Reply:
    """An error reply in the Gemini API's shape."""
    name = STATUS_NAMES.get(status, "UNKNOWN")
    return Reply(status=status, json={"error": {"code": status, "message": message, "status": name}})


def _field(message: Mapping[str, Any], name: str) -> Any:
    """A field of a request message by its JSON name (`functionDeclarations`) or its proto name
    (`function_declarations`): the API accepts both, and the Python SDK sends some in the latter."""
    if name in message:
        return message[name]
    return message.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name))


def _texts(content: Mapping[str, Any]) -> list[str]:
    return [part["text"] for part in content.get("parts") or [] if isinstance(part.get("text"), str)]


def _function_declarations(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for tool in body.get("tools") or []:
        found.extend(_field(tool, "functionDeclarations") or [])
    return found


def _schema(declaration: Mapping[str, Any]) -> dict[str, Any]:
    """The function's parameter schema (JSON Schema, or the API's OpenAPI-style `parameters`)."""
    schema = _field(declaration, "parametersJsonSchema")
    if schema is None:
        return dict(_lower_types(declaration.get("parameters") or {}))
    return dict(schema)


def _lower_types(schema: Any) -> Any:
    """The API's `Schema` objects spell types in capitals (`STRING`); JSON Schema wants lower case."""
    if isinstance(schema, dict):
        return {
            key: value.lower() if key == "type" and isinstance(value, str) else _lower_types(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    return schema


def _valid(value: Any, schema: Mapping[str, Any]) -> bool:
    if jsonschema is None:  # pragma: no cover
        return True
    try:
        jsonschema.validate(value, dict(schema))
    except (jsonschema.ValidationError, jsonschema.SchemaError):
        return False
    return True


def sample(schema: Any) -> Any:
    """The smallest value that fits `schema` (required properties only, first enum value)."""
    if not isinstance(schema, Mapping):
        return None
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return sample(schema[key][0])
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = kind.lower() if isinstance(kind, str) else ("object" if "properties" in schema else "string")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: sample(properties.get(name, {})) for name in schema.get("required") or []}
    if kind == "array":
        return [sample(schema.get("items", {})) for _ in range(int(schema.get("minItems") or 0))]
    if kind in ("integer", "number"):  # 1 rather than 0: scores and counts usually start there
        return schema.get("minimum", min(1, schema.get("maximum", 1)))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * int(schema.get("minLength") or 0)


class FakeGeminiAPI(AgentModelServer):
    """The Gemini API on `url` (pass it as `GOOGLE_GEMINI_BASE_URL`; any API key is accepted).

    `model_version` is reported in the responses (default: the model the request names; the CLI
    keys its usage stats on it); `fail=(status, message)` answers every model call with that
    error instead (e.g. `(500, "boom")`, `(401, "bad key")`)."""

    base_path = ""

    def __init__(
        self,
        script: Script | Sequence[Turn],
        *,
        model_version: str | None = None,
        fail: tuple[int, str] | None = None,
    ) -> None:
        super().__init__(script)
        self.model_version = model_version
        self.fail = fail

    # -- routing -------------------------------------------------------------------------------

    def reply(self, seen: Seen) -> Reply:
        path = urlsplit(seen.path).path
        if seen.method == "GET":
            info = MODEL_INFO.match(path)
            if info is None:
                return gemini_error(404, f"Not found: {path}")
            if info.group(1):
                return Reply(json=self._model(info.group(1)))
            return Reply(json={"models": [self._model(m) for m in ("gemini-2.5-pro", "gemini-2.5-flash")]})
        action = MODEL_ACTION.match(path)
        if action is None:
            return gemini_error(404, f"Not found: {path}")
        model, method = action.groups()
        if self.fail is not None:
            return gemini_error(*self.fail)
        body = seen.body if isinstance(seen.body, dict) else {}
        if method == "countTokens":
            return Reply(json={"totalTokens": self._count(body)})
        if method not in ("generateContent", "streamGenerateContent"):
            return gemini_error(404, f"Method {method} is not found for models/{model}")
        if not isinstance(body.get("contents"), list):
            return gemini_error(400, "* GenerateContentRequest.contents: contents is not specified")
        parts = self._answer(seen, body)
        version = self.model_version or model
        if method == "generateContent":
            return Reply(json=self._response(parts, body, version, final=True))
        return Reply(events=self._stream(parts, body, version))

    @staticmethod
    def _model(name: str) -> dict[str, Any]:
        return {
            "name": f"models/{name}",
            "version": "001",
            "displayName": name,
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        }

    # -- the model's decision ------------------------------------------------------------------

    def _answer(self, seen: Seen, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        config = _field(body, "generationConfig") or {}
        schema = _field(config, "responseJsonSchema") or _field(config, "responseSchema")
        if schema is not None or _field(config, "responseMimeType") == "application/json":
            # A side request (routing classifier, loop check, next speaker...): JSON, no turn.
            return [{"text": json.dumps(sample(_lower_types(schema)) if schema else {})}]
        contents: list[dict[str, Any]] = body["contents"]
        last = contents[-1] if contents else {}
        if any(_field(part, "functionResponse") is not None for part in last.get("parts") or []):
            turn = next((s.turn for s in reversed(self.seen) if s.turn is not None), None)
            return [{"text": turn.say if turn else "Done."}]
        declarations = _function_declarations(body)
        if not declarations:
            return [{"text": "OK."}]  # not the main conversation (a summary, a title...)
        request = "\n".join(t for t in _texts(last) if not t.lstrip().startswith(SESSION_CONTEXT))
        turn = self.script.take(request)
        if turn is None:
            return [{"text": "I have nothing to change for this request."}]
        seen.turn = turn
        if not turn.files:
            return [{"text": turn.say}]
        calls = self._write_calls(turn, declarations, self._workspace(contents))
        if calls is None:
            return [{"text": "I cannot write files: no file-writing tool is available."}]
        return [{"functionCall": call} for call in calls]

    @staticmethod
    def _workspace(contents: Sequence[Mapping[str, Any]]) -> str | None:
        for content in contents:
            for text in _texts(content):
                for pattern in WORKSPACE_PATTERNS:
                    found = pattern.search(text)
                    if found:
                        return found.group(1).strip()
        return None

    @staticmethod
    def _write_calls(
        turn: Turn, declarations: Sequence[Mapping[str, Any]], workspace: str | None
    ) -> list[dict[str, Any]] | None:
        """`functionCall`s writing each of the turn's files through a declared writing function,
        or None if no declared function can take a path and a whole content."""
        ordered = sorted(declarations, key=lambda d: d.get("name") != "write_file")
        for declaration in ordered:
            schema = _schema(declaration)
            properties = schema.get("properties") or {}
            path_key = next((k for k in PATH_KEYS if k in properties), None)
            content_key = next((k for k in CONTENT_KEYS if k in properties), None)
            if path_key is None or content_key is None:
                continue
            calls: list[dict[str, Any]] = []
            for relpath, text in turn.files.items():
                path = f"{workspace.rstrip('/')}/{relpath}" if workspace else relpath
                args = {
                    name: sample(properties.get(name, {}))
                    for name in schema.get("required") or []
                    if name not in (path_key, content_key)
                }
                args |= {path_key: path, content_key: text}
                if not _valid(args, schema):
                    break
                calls.append({"name": declaration["name"], "args": args})
            else:
                return calls
        return None

    # -- response shapes -----------------------------------------------------------------------

    def _count(self, body: Mapping[str, Any]) -> int:
        return max(1, len(json.dumps(body.get("contents") or [])) // 4)

    def _usage(self, body: Mapping[str, Any], parts: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        prompt = max(1, len(json.dumps(body, ensure_ascii=False)) // 4)
        output = max(1, len(json.dumps(list(parts), ensure_ascii=False)) // 4)
        return {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output,
        }

    def _response(
        self,
        parts: Sequence[Mapping[str, Any]],
        body: Mapping[str, Any],
        version: str,
        *,
        final: bool,
        rid: str = "",
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
        if final:
            candidate["finishReason"] = "STOP"
        return {
            "candidates": [candidate],
            "usageMetadata": self._usage(body, parts),
            "modelVersion": version,
            "responseId": rid or uuid.uuid4().hex[:22],
        }

    def _stream(
        self, parts: Sequence[Mapping[str, Any]], body: Mapping[str, Any], version: str
    ) -> Iterator[tuple[None, Any]]:
        """Text in two chunks (as the API streams it), function calls whole, the last chunk with
        `finishReason: STOP`."""
        rid = uuid.uuid4().hex[:22]
        if len(parts) == 1 and "text" in parts[0] and len(parts[0]["text"]) > 1:
            text: str = parts[0]["text"]
            half = len(text) // 2
            yield None, self._response([{"text": text[:half]}], body, version, final=False, rid=rid)
            yield None, self._response([{"text": text[half:]}], body, version, final=True, rid=rid)
            return
        yield None, self._response(parts, body, version, final=True, rid=rid)
