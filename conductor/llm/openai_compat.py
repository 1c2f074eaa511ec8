"""Any OpenAI-compatible chat API (Ollama, vLLM, llama.cpp server, OpenAI) through the openai
SDK, imported lazily. Structured answers use response_format json_schema."""

from __future__ import annotations

import os
from typing import Any

from conductor.llm.provider import BlockedError, LLMError, LLMRequest, LLMResponse, TransientLLMError, Usage
from conductor.llm.schema import for_dialect
from conductor.llm.transport import unreachable

DEFAULT_BASE_URL = "http://localhost:11434/v1"  # Ollama
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


class OpenAIProvider:
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 120.0,
        api_key_env: str = "OPENAI_API_KEY",
        dialect: str = "openai",
    ) -> None:
        import openai

        self._openai = openai
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.api_key_env = api_key_env
        self.timeout_seconds = timeout_seconds
        self.dialect = dialect
        if dialect == "ollama":
            self.name = "ollama"
        # Local servers need no key; the SDK insists on one, so a placeholder goes if none is set.
        key = os.environ.get(api_key_env) or "not-needed"
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=key, timeout=timeout_seconds, max_retries=0
        )

    def settings(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
        }

    def complete(self, request: LLMRequest) -> LLMResponse:
        openai = self._openai
        try:
            answer = self._client.chat.completions.create(
                model=self.model,
                temperature=request.temperature,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.prompt},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.schema_name,
                        "schema": for_dialect(request.schema, self.dialect),
                        "strict": self.dialect == "openai",
                    },
                },
            )
        except openai.APIStatusError as exc:
            message = f"{self.base_url} answered HTTP {exc.status_code}: {exc.message}"
            if exc.status_code in RETRY_STATUSES:
                raise TransientLLMError(message, status=exc.status_code) from exc
            raise LLMError(message) from exc
        except openai.APIConnectionError as exc:  # APITimeoutError is one too
            raise unreachable(
                self.base_url,
                exc,
                timed_out=isinstance(exc, openai.APITimeoutError),
                timeout_seconds=self.timeout_seconds,
            ) from exc
        if not answer.choices:
            raise BlockedError("the model gave no answer")
        choice = answer.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise BlockedError(f"the model refused: {refusal}")
        if choice.finish_reason == "content_filter":
            raise BlockedError("the model's answer was blocked by a content filter")
        text = choice.message.content or ""
        if not text.strip():
            raise BlockedError(f"the model gave an empty answer (finish reason {choice.finish_reason})")
        usage = answer.usage
        return LLMResponse(
            text=text,
            model=answer.model or self.model,
            usage=Usage(
                int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)
            ),
            finish_reason=choice.finish_reason,
        )
