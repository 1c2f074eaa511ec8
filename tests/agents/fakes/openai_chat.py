"""The OpenAI Chat Completions fake that aider (through litellm) talks to.

Owns `FakeOpenAIChat`: `POST {base}/chat/completions` (a JSON body, or server-sent events
`data: {chunk}` … `data: [DONE]` when the request says `"stream": true`), `GET {base}/models`
and `GET {base}/models/{id}`, and OpenAI's `{"error": {...}}` body for anything else.

aider declares no tools: it tells the model, in its system prompt, which *edit format* to
answer in. The fake reads that prompt and answers in the same format:

- "whole" (aider's default for an unknown model): a *file listing*, the path alone on a
  line, then the whole new content between aider's fences;
- "diff" / "diff-fenced": one *SEARCH/REPLACE block* per file, whose SEARCH part is the
  file's current content as the request shows it (files added to the chat), or empty for a
  file the request does not show (aider then creates it).

Other requests (commit messages, history summaries, other edit formats) get plain text and
consume no `Turn`. aider has no tool results; what continues a turn is a message aider adds
after the fake's own answer (files it added to the chat because the answer named them, lint
errors, ...). "I added these files to the chat" means the answer was not applied, so the
edits are sent again, now against the content the request shows; any other continuation
gets the turn's `say` text.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from .base import AgentModelServer, Reply, Script, Seen, Turn

# Texts of aider's prompts (aider/coders/*_prompts.py, aider/prompts.py) the fake keys on.
WHOLE_MARK = "*file listing*"
DIFF_MARK = "*SEARCH/REPLACE block*"
FENCED_DIFF_EXAMPLE = "python\nmathweb/flask/app.py\n<<<<<<< SEARCH"  # diff-fenced's example
FILES_CONTENT_PREFIX = "I have *added these files to the chat*"
ADDED_FILES_PREFIX = "I added these files to the chat:"
COMMIT_MARK = "one-line Git commit messages"
SUMMARY_MARK = "summarize this partial conversation"

NOTHING_TO_DO = "I have no changes to make for this request."
CLOSING_FENCE = re.compile(r"closing (?:fence: )?(\S+)")

# What OpenAI answers for each status: (message, type, code). litellm maps a 401 to its
# AuthenticationError only with OpenAI's own wording ("Incorrect API key provided").
ERRORS = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided: sk-***.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to sample from this model.", "invalid_request_error", None),
    404: (
        "The model does not exist or you have no access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
}
SERVER_ERROR = ("The server had an error processing your request. Sorry about that!", "server_error", None)


def openai_error(status: int, message: str | None = None) -> Reply:
    """An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""
    default, kind, code = ERRORS.get(status, SERVER_ERROR)
    body = {"error": {"message": message or default, "type": kind, "param": None, "code": code}}
    return Reply(status=status, json=body)


def message_text(message: dict[str, Any]) -> str:
    """A chat message's text, whether `content` is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def common_suffix_length(first: str, second: str) -> int:
    length = 0
    for a, b in zip(reversed(first), reversed(second), strict=False):
        if a != b:
            break
        length += 1
    return length


def fences_of(system: str) -> tuple[str, str]:
    """The (opening, closing) fence aider's prompt asks for: ``` by default, ```` or
    <source>…</source> and the like when the files in the chat contain ```."""
    found = CLOSING_FENCE.search(system)
    closing = found.group(1) if found else "```"
    opening = closing.replace("</", "<", 1) if closing.startswith("</") else closing
    return opening, closing


def shown_files(messages: Sequence[dict[str, Any]], fences: tuple[str, str]) -> dict[str, str]:
    """The files the request shows as added to the chat (path → content), parsed from
    aider's files-content message: blank line, path, opening fence, content, closing fence."""
    opening, closing = fences
    shown: dict[str, str] = {}
    for message in messages:
        text = message_text(message)
        if message.get("role") != "user" or not text.startswith(FILES_CONTENT_PREFIX):
            continue
        lines = text.split("\n")
        index = 0
        while index + 1 < len(lines):
            if not lines[index] or lines[index + 1] != opening:
                index += 1
                continue
            path, body, index = lines[index], [], index + 2
            while index < len(lines):
                line = lines[index]
                index += 1
                if line == closing:  # the content ended with a newline
                    body.append("")
                    break
                last = index >= len(lines) or lines[index] == ""
                if line.endswith(closing) and last:  # aider glues the fence to a last line
                    body.append(line[: -len(closing)])
                    break
                body.append(line)
            shown[path] = "\n".join(body)
    return shown


class FakeOpenAIChat(AgentModelServer):
    """An OpenAI Chat Completions server for aider, driven by a `Script` (see the module doc).

    `fail`, if set, is an HTTP status every chat completion is answered with (an OpenAI
    error body), to see how the client copes. `model` is what `GET /models` lists."""

    base_path = "/v1"

    def __init__(
        self,
        script: Script | Sequence[Turn],
        *,
        model: str = "fake-model",
        fail: int | None = None,
    ) -> None:
        super().__init__(script)
        self.model = model
        self.fail = fail
        self.answers: dict[str, Turn] = {}  # the fake's edit answers (stripped) → their turn
        self.ids = itertools.count(1)

    # -- routing ------------------------------------------------------------------------

    def reply(self, seen: Seen) -> Reply:
        path = seen.path.split("?", 1)[0].rstrip("/")
        base = self.base_path
        if seen.method == "GET" and path == f"{base}/models":
            return Reply(json={"object": "list", "data": [self.model_object(self.model)]})
        if seen.method == "GET" and path.startswith(f"{base}/models/"):
            return Reply(json=self.model_object(path.removeprefix(f"{base}/models/")))
        if seen.method == "POST" and path == f"{base}/chat/completions":
            if self.fail is not None:
                return openai_error(self.fail)
            body = seen.body if isinstance(seen.body, dict) else {}
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                return openai_error(400, "'messages' is a required property")
            text = self.answer(seen, [m for m in messages if isinstance(m, dict)])
            return self.completion(body, text)
        return openai_error(404, f"Unknown request: {seen.method} {path}")

    @staticmethod
    def model_object(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 1700000000, "owned_by": "fake"}

    # -- deciding what to say -----------------------------------------------------------

    def answer(self, seen: Seen, messages: list[dict[str, Any]]) -> str:
        system = "\n".join(message_text(m) for m in messages if m.get("role") == "system")
        if COMMIT_MARK in system:
            return "chore: apply the requested changes"
        if SUMMARY_MARK in system or SUMMARY_MARK in message_text(messages[-1]):
            return "I asked you to make changes to some files and you made them."
        if WHOLE_MARK in system:
            edit_format = "whole"
        elif DIFF_MARK in system:
            fenced = any(FENCED_DIFF_EXAMPLE in message_text(m) for m in messages)
            edit_format = "diff-fenced" if fenced else "diff"
        else:
            return NOTHING_TO_DO
        fences = fences_of(system)
        while len(messages) > 1 and messages[-1].get("role") == "system":
            messages = messages[:-1]  # a reminder sent as a system message (reminder: sys)

        continued = self.continued_turn(messages)
        if continued is not None:
            turn, redo = continued
            seen.turn = turn
            if not redo:
                return turn.say
        else:
            last = messages[-1]
            if last.get("role") != "user":
                return NOTHING_TO_DO
            request = message_text(last)
            # aider appends its system reminder to the user's words: drop that shared tail
            request = request[: len(request) - common_suffix_length(request, system)].strip()
            found = self.script.take(request)
            if found is None:
                return NOTHING_TO_DO
            turn = seen.turn = found

        text = self.edits(turn, edit_format, fences, shown_files(messages, fences))
        self.answers[text.strip()] = turn
        return text

    def continued_turn(self, messages: list[dict[str, Any]]) -> tuple[Turn, bool] | None:
        """The turn this request continues, if an earlier answer of the fake's is in it, and
        whether its edits must be sent again (aider added files instead of applying them)."""
        for index in range(len(messages) - 1, -1, -1):
            message = messages[index]
            if message.get("role") != "assistant":
                continue
            turn = self.answers.get(message_text(message).strip())
            if turn is None:
                continue
            after = messages[index + 1 :]
            redo = (
                len(after) == 1
                and after[0].get("role") == "user"
                and message_text(after[0]).startswith(ADDED_FILES_PREFIX)
            )
            return turn, redo
        return None

    @staticmethod
    def edits(turn: Turn, edit_format: str, fences: tuple[str, str], shown: dict[str, str]) -> str:
        opening, closing = fences
        parts = [f"I will write {len(turn.files)} file(s)."]
        for path, content in turn.files.items():
            new = content if not content or content.endswith("\n") else content + "\n"
            if edit_format == "whole":
                parts.append(f"{path}\n{opening}\n{new}{closing}")
                continue
            old = shown.get(path, "")
            old = old if not old or old.endswith("\n") else old + "\n"
            block = f"<<<<<<< SEARCH\n{old}=======\n{new}>>>>>>> REPLACE\n{closing}"
            if edit_format == "diff-fenced":
                parts.append(f"{opening}\n{path}\n{block}")
            else:
                parts.append(f"{path}\n{opening}\n{block}")
        parts.append(turn.say)
        return "\n\n".join(parts) + "\n"

    # -- the wire -----------------------------------------------------------------------

    def completion(self, body: dict[str, Any], text: str) -> Reply:
        ident = f"chatcmpl-fake{next(self.ids):06d}"
        created = int(time.time())
        model = str(body.get("model") or self.model)
        prompt_tokens = max(1, len(str(body.get("messages"))) // 4)
        completion_tokens = max(1, len(text) // 4)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        headers = {"x-request-id": f"req_{ident}", "openai-processing-ms": "1"}
        if not body.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
            return Reply(
                json={
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                    "system_fingerprint": None,
                },
                headers=headers,
            )
        options = body.get("stream_options")
        with_usage = isinstance(options, dict) and bool(options.get("include_usage"))

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": choices,
                **extra,
            }

        def delta(content: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}

        def events() -> Iterator[tuple[str | None, Any]]:
            null_usage = {"usage": None} if with_usage else {}
            yield None, chunk([delta({"role": "assistant", "content": "", "refusal": None})], **null_usage)
            for piece in text.splitlines(keepends=True):
                yield None, chunk([delta({"content": piece})], **null_usage)
            yield None, chunk([delta({}, "stop")], **null_usage)
            if with_usage:
                yield None, chunk([], usage=usage)
            yield None, "[DONE]"

        return Reply(events=events(), headers=headers)
