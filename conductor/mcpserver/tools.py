"""A tool of `conductor mcp`: its name, what it does, the JSON Schemas of what it takes and
gives, and the function that does it. What a client sends is untrusted: `Arguments` reads it
within bounds (known keys only, strings of bounded length), and every refusal — of an argument,
or by Conductor (a ConductorError) — is a tool error naming what was wrong and what to do,
never a crash of the server.

Cheap to import (no SDK, no pydantic): server.py turns these into the SDK's types.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conductor.errors import ConductorError

Progress = Callable[[str], None]
MAX_NAME = 200  # characters of a plan, fork or step argument
MAX_TEXT = 64 * 1024 * 1024  # characters of any text argument; the tool's own limit applies after


class ArgumentError(ConductorError):
    """A tool's arguments are not what its input schema says."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    run: Callable[[Arguments], Any]  # the structured result (a JSON object)


@dataclass(frozen=True)
class Failure:
    """A tool error: what went wrong, what to do, and each problem on its own."""

    message: str
    hint: str | None
    problems: list[str]

    def text(self) -> str:
        lines = [self.message]
        if len(self.problems) > 1:
            lines += [f"- {problem}" for problem in self.problems]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


def call(
    tool: Tool,
    raw: Mapping[str, Any] | None,
    progress: Progress = lambda message: None,
    stop: threading.Event | None = None,
) -> Any | Failure:
    """Run `tool` on a client's arguments: its result, or the Failure to report. A long tool
    says how it goes through `progress` (MCP progress notifications, when the client asked) and
    gives up when `stop` is set (the client cancelled the call)."""
    try:
        return tool.run(Arguments(tool, dict(raw or {}), progress, stop))
    except ConductorError as exc:
        problems = list(getattr(exc, "problems", None) or [exc.message])
        return Failure(exc.message, exc.hint, problems)


class Arguments:
    """A tool's arguments, read as its input schema says: unknown keys are refused, each value
    is checked for its type and length as it is read."""

    def __init__(
        self,
        tool: Tool,
        values: dict[str, Any],
        progress: Progress = lambda message: None,
        stop: threading.Event | None = None,
    ) -> None:
        known = set(tool.input_schema.get("properties", {}))
        unknown = sorted(str(key)[:MAX_NAME] for key in values if key not in known)
        if unknown:
            raise ArgumentError(
                f"{tool.name}: unknown argument {', '.join(unknown)}",
                hint=f"{tool.name} takes {', '.join(sorted(known)) or 'no arguments'}",
            )
        self.tool, self.values, self.progress = tool.name, values, progress
        self.stop = stop or threading.Event()

    def text(self, key: str, *, limit: int = MAX_NAME) -> str:
        value = self.values.get(key)
        if value is None:
            raise ArgumentError(f"{self.tool}: {key} is missing", hint=f"give {key}")
        return self._checked(key, value, limit)

    def optional_text(self, key: str, *, limit: int = MAX_NAME) -> str | None:
        value = self.values.get(key)
        return None if value is None else self._checked(key, value, limit)

    def flag(self, key: str) -> bool:
        value = self.values.get(key, False)
        if type(value) is not bool:
            raise ArgumentError(f"{self.tool}: {key} must be true or false")
        return value

    def number(self, key: str, *, low: int, high: int) -> int | None:
        value = self.values.get(key)
        if value is None:
            return None
        if type(value) is not int or not low <= value <= high:
            raise ArgumentError(f"{self.tool}: {key} must be a whole number from {low} to {high}")
        return value

    def texts(self, key: str, *, most: int = 100) -> list[str]:
        value = self.values.get(key, [])
        if not isinstance(value, list) or len(value) > most:
            raise ArgumentError(f"{self.tool}: {key} must be a list of at most {most} strings")
        return [self._checked(key, item, MAX_NAME) for item in value]

    def raw(self, key: str) -> Any:
        """A value as the client sent it, for the caller to check (a result file's JSON)."""
        if key not in self.values:
            raise ArgumentError(f"{self.tool}: {key} is missing", hint=f"give {key}")
        return self.values[key]

    def _checked(self, key: str, value: Any, limit: int) -> str:
        if not isinstance(value, str):
            raise ArgumentError(f"{self.tool}: {key} must be a string (it is {type(value).__name__})")
        if len(value) > limit:
            raise ArgumentError(f"{self.tool}: {key} is over {limit} characters")
        return value


def names(*keys: str, required: tuple[str, ...] | None = None, **more: dict[str, Any]) -> dict[str, Any]:
    """An input schema of plan/fork/step-like names (bounded strings), with `more` properties."""
    properties: dict[str, Any] = {key: {"type": "string", "maxLength": MAX_NAME} for key in keys}
    properties.update(more)
    return {
        "type": "object",
        "properties": properties,
        "required": list(keys if required is None else required),
        "additionalProperties": False,
    }


def document(schema: Mapping[str, Any], *, key: str | None = None) -> dict[str, Any]:
    """A command's published output schema as a tool's output schema, which is an object's: the
    document itself, or (a list, as `status` prints) the value of `key` in one."""
    defs: dict[str, Any] = {}
    inner = embedded(schema, defs)
    if key is not None:
        inner = {"type": "object", "properties": {key: inner}, "required": [key]}
    return with_defs({"type": "object", **inner}, defs)


def embedded(schema: Mapping[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A published schema (task, result, a command's output) to place inside another: its
    `$defs` go to `defs` (the root's, where its `$ref`s point), its own header is dropped."""
    inner = copy.deepcopy(dict(schema))
    defs.update(inner.pop("$defs", {}))
    for key in ("$schema", "$id"):
        inner.pop(key, None)
    return inner


def with_defs(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "$defs": defs} if defs else schema
