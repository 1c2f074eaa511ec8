"""The provider interface: one request in, one text answer out, and the errors in between."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from conductor.errors import ConductorError


class LLMError(ConductorError):
    """The model could not give a usable answer."""


class TransientLLMError(LLMError):
    """A failure worth retrying: 408, 429, 5xx, a timeout, a refused connection. `hint` says
    what to check when retrying does not help (a server that is not running, a short timeout)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class BlockedError(LLMError):
    """The model refused (a safety block) or answered nothing."""


@dataclass(frozen=True)
class LLMRequest:
    """What Conductor asks: a system text, a prompt, and the JSON Schema of the answer.

    `scope` names the call's place ("plan", "<fork>/<step>/<attempt>") for recording and
    replay; it is not sent to the model."""

    purpose: str
    system: str
    prompt: str
    schema_name: str
    schema: dict[str, Any]
    scope: str = ""
    temperature: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self) -> str:
        body = json.dumps(
            {"system": self.system, "prompt": self.prompt, "schema": self.schema},
            sort_keys=True,
            ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Usage:
    input: int = 0
    output: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input + other.input, self.output + other.output)


@dataclass(frozen=True)
class LLMResponse:
    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "model": self.model,
            "usage": {"input": self.usage.input, "output": self.usage.output},
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LLMResponse:
        usage = data.get("usage") or {}
        return cls(
            text=str(data.get("text", "")),
            model=str(data.get("model", "")),
            usage=Usage(int(usage.get("input", 0)), int(usage.get("output", 0))),
            finish_reason=data.get("finish_reason"),
        )


class Provider(Protocol):
    name: str
    model: str
    dialect: str  # the JSON Schema dialect it is sent (conductor.llm.schema)

    def complete(self, request: LLMRequest) -> LLMResponse:
        """One call. Raises TransientLLMError (retry), BlockedError or LLMError."""
        ...

    def settings(self) -> dict[str, Any]:
        """What to record so the provider can be made again (never a key)."""
        ...
