"""Calling a model for a structured answer: retries with backoff, validation, one re-ask.

Every attempt — answered, failed or invalid — is an Exchange handed to the recorder before
the caller goes on, so the ledger holds every request and response (never a key: requests
are Conductor's own text, and the ledger redacts secrets besides).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from conductor.llm.provider import LLMError, LLMRequest, LLMResponse, Provider, TransientLLMError, Usage
from conductor.models import untrusted

M = TypeVar("M", bound=BaseModel)
Check = Callable[[M], list[str]]
MAX_PROBLEMS = 10


@dataclass
class Exchange:
    """One call: the request, and the response or the error."""

    request: LLMRequest
    response: LLMResponse | None
    error: str | None
    seconds: float
    try_number: int
    valid: bool | None = None  # None: not checked (an error); False: answer did not fit the schema

    def summary(self) -> str:
        """One line for the event log."""
        if self.response is None:
            return f"failed: {self.error}"
        text = f"{self.response.model}: {self.response.usage.input} + {self.response.usage.output} tokens"
        return text + (" (answer did not fit the schema)" if self.valid is False else "")

    def event_data(self) -> dict[str, Any]:
        """What the llm.exchange event carries (the full exchange goes into llm/ beside it)."""
        usage = self.response.usage if self.response else None
        return {
            "scope": self.request.scope,
            "purpose": self.request.purpose,
            "model": self.response.model if self.response else None,
            "tokens": {"input": usage.input, "output": usage.output} if usage else None,
            "error": self.error,
            "valid": self.valid,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request.to_json(),
            "request_digest": self.request.digest(),
            "response": self.response.to_json() if self.response else None,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "try": self.try_number,
            "valid": self.valid,
        }


@dataclass
class Answer:
    """A validated answer and what it cost."""

    value: Any
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    exchanges: list[Exchange] = field(default_factory=list)


Recorder = Callable[[Exchange], None]


class Caller:
    def __init__(
        self,
        provider: Provider,
        *,
        retries: int = 3,
        backoff_seconds: float = 1.0,
        recorder: Recorder | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.recorder = recorder
        self.sleep = sleep

    def _record(self, exchange: Exchange, answer: Answer) -> None:
        answer.exchanges.append(exchange)
        if self.recorder is not None:
            self.recorder(exchange)

    def _complete(self, request: LLMRequest, answer: Answer) -> Exchange:
        """One answer (not yet recorded: `ask` checks it first), retrying transient failures
        with exponential backoff and jitter; each failure is recorded as it happens."""
        for number in range(1, self.retries + 2):
            started = time.monotonic()
            try:
                response = self.provider.complete(request)
            except TransientLLMError as exc:
                self._record(Exchange(request, None, exc.message, time.monotonic() - started, number), answer)
                if number > self.retries:
                    times = "once" if number == 1 else f"{number} times"
                    raise LLMError(
                        f"the model failed {times}; last: {exc.message}",
                        # a busy server (429, 5xx) may answer later; a refused connection will not
                        hint=exc.hint or "try again later, or raise llm.retries in .conductor/config.yaml",
                    ) from exc
                delay = self.backoff_seconds * (2 ** (number - 1))
                self.sleep(delay + random.uniform(0, delay / 4))
                continue
            except LLMError as exc:
                self._record(Exchange(request, None, exc.message, time.monotonic() - started, number), answer)
                raise
            answer.usage = answer.usage + response.usage
            answer.model = response.model
            return Exchange(request, response, None, time.monotonic() - started, number)
        raise AssertionError("unreachable")

    def ask(self, request: LLMRequest, model: type[M], check: Check[M] | None = None) -> Answer:
        """A `model` instance from the provider; re-asked once, with every problem named, when
        the answer does not fit the schema or `check` finds something wrong with it."""
        answer = Answer(value=None)
        current = request
        for round_number in (1, 2):
            exchange = self._complete(current, answer)
            assert exchange.response is not None
            response = exchange.response
            value, problems = _parse(response.text, model)
            if value is not None and check is not None:
                problems = check(value)
            exchange.valid = not problems
            self._record(exchange, answer)
            if not problems:
                answer.value = value
                return answer
            listed = "; ".join(problems[:MAX_PROBLEMS]) + (
                f"; and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
            )
            if round_number == 2:
                raise LLMError(
                    f"the model's {request.schema_name} answer was wrong twice: {listed}",
                    hint="try another model (--model), or a lower temperature",
                )
            shown = "\n".join(f"- {p}" for p in problems[:MAX_PROBLEMS])
            current = LLMRequest(
                purpose=request.purpose,
                system=request.system,
                prompt=(
                    f"{request.prompt}\n\nYour previous answer was rejected:\n{shown}\n"
                    f"Answer again with JSON that matches the {request.schema_name} schema, fixing these."
                ),
                schema_name=request.schema_name,
                schema=request.schema,
                scope=request.scope,
                temperature=request.temperature,
            )
        raise AssertionError("unreachable")


def _json_text(text: str) -> str:
    """The JSON in an answer; some models wrap it in a ```json fence."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()


def _parse(text: str, model: type[M]) -> tuple[M | None, list[str]]:
    """The answer as a `model`, or every reason it is not one."""
    body = _json_text(text)
    try:  # bounded (depth, number length): a model's answer is no more trusted than an agent's
        untrusted.loads(body, name="the answer")
    except untrusted.UntrustedError as exc:
        return None, [f"not valid JSON ({exc.message.removeprefix('the answer: ')})"]
    try:
        return model.model_validate_json(body), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            problems.append(f"{where}: {error['msg']}")
        return None, problems
