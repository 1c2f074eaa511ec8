"""Gemini through the google-genai SDK (imported here, lazily: it takes ~0.5 s to import).

The SDK's own retries are turned off: conductor.llm.caller retries, so every attempt is seen
and recorded. Transport failures arrive as httpx(2) errors, not APIError, and are mapped to
TransientLLMError with the HTTP statuses worth retrying.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from conductor.llm.provider import BlockedError, LLMError, LLMRequest, LLMResponse, TransientLLMError, Usage
from conductor.llm.schema import for_dialect
from conductor.llm.transport import URL_SETTINGS, unreachable

DEFAULT_MODEL = "gemini-3.8-flash"
PUBLIC_URL = "https://generativelanguage.googleapis.com"  # the SDK's, when no base URL is set
KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


def api_key() -> str | None:
    for name in KEY_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """The SDK's transport errors, and which of them are timeouts."""
    found: list[type[BaseException]] = []
    timeouts: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        found += [module.TimeoutException, module.TransportError]
        timeouts.append(module.TimeoutException)
    return tuple(found), tuple(timeouts)


_clients = threading.local()


class GeminiProvider:
    name = "gemini"
    dialect = "gemini"

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        timeout_seconds: float = 120.0,
        key: str | None = None,
        api_version: str | None = None,
    ) -> None:
        from google import genai
        from google.genai import types

        key = key or api_key()
        if not key:
            raise LLMError(
                "no Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)",
                hint="or use another provider: --llm openai --base-url http://localhost:11434/v1 (Ollama)",
            )
        self.model = model
        self.base_url = base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL")
        self.timeout_seconds = timeout_seconds
        options: dict[str, Any] = {
            "timeout": int(timeout_seconds * 1000),
            "retry_options": types.HttpRetryOptions(attempts=1),
        }
        if self.base_url:
            options["base_url"] = self.base_url
        if api_version:
            options["api_version"] = api_version
        self._types = types
        self._errors = __import__("google.genai.errors", fromlist=["errors"])
        self._transport, self._timeouts = _transport_errors()
        http_options = types.HttpOptions(**options)  # what is wrong with them is said now
        self._make_client: Callable[[], Any] = functools.partial(
            genai.Client, api_key=key, http_options=http_options
        )
        self._client_key = (key, http_options.model_dump_json())

    @property
    def client(self) -> Any:
        """The SDK's client, made at the first request and then used by every provider of the
        same key and options in this thread (the llm executor makes a provider a step): making
        one builds two TLS contexts (~90 ms of CPU), which a provider made to check the
        settings never uses. One per thread, as forks run in threads of their own."""
        clients: dict[tuple[str, str], Any] | None = getattr(_clients, "made", None)
        if clients is None:
            clients = _clients.made = {}
        found = clients.get(self._client_key)
        if found is None:
            found = clients[self._client_key] = self._make_client()
        return found

    def settings(self) -> dict[str, Any]:
        return {"provider": self.name, "model": self.model, "base_url": self.base_url}

    def complete(self, request: LLMRequest) -> LLMResponse:
        config = self._types.GenerateContentConfig(
            system_instruction=request.system,
            temperature=request.temperature,
            response_mime_type="application/json",
            response_json_schema=for_dialect(request.schema, self.dialect),
        )
        try:
            answer = self.client.models.generate_content(
                model=self.model, contents=request.prompt, config=config
            )
        except self._errors.APIError as exc:
            code = getattr(exc, "code", None)
            message = f"Gemini answered HTTP {code}: {getattr(exc, 'message', None) or exc}"
            if code in RETRY_STATUSES:
                raise TransientLLMError(message, status=code) from exc
            raise LLMError(message, hint=_hint(code)) from exc
        except self._transport as exc:
            raise unreachable(
                self.base_url or PUBLIC_URL,
                exc,
                timed_out=isinstance(exc, self._timeouts),
                timeout_seconds=self.timeout_seconds,
                service="Gemini",
                settings=f"{URL_SETTINGS} / GOOGLE_GEMINI_BASE_URL",
            ) from exc
        feedback = getattr(answer, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            raise BlockedError(f"Gemini blocked the request: {feedback.block_reason}")
        candidates = answer.candidates or []
        finish = str(candidates[0].finish_reason) if candidates and candidates[0].finish_reason else None
        if finish and any(
            word in finish for word in ("SAFETY", "PROHIBITED", "BLOCKLIST", "SPII", "RECITATION")
        ):
            raise BlockedError(f"Gemini stopped the answer: {finish}")
        text = answer.text or ""
        if not text.strip():
            raise BlockedError(f"Gemini gave an empty answer (finish reason {finish or 'none'})")
        meta = answer.usage_metadata
        usage = Usage(
            int(getattr(meta, "prompt_token_count", 0) or 0),
            int(getattr(meta, "candidates_token_count", 0) or 0),
        )
        model = getattr(answer, "model_version", None) or self.model
        return LLMResponse(text=text, model=str(model), usage=usage, finish_reason=finish)


def _hint(code: int | None) -> str | None:
    if code in (401, 403):
        return "check GEMINI_API_KEY"
    if code == 404:
        return "check the model name (--model or .conductor/config.yaml)"
    return None
