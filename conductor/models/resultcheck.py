"""What is wrong with a result file an executor wrote, in plain words and all at once: JSON
syntax with line and column, then every schema error with its field path, e.g.
`completed/step_001.result.json: files_changed.0: must be a string (it is 3)`."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from conductor.models.result import ResultFile

SHOWN = 60  # characters of a wrong value quoted in a problem


def problems(raw: bytes, *, name: str, step: str | None = None, attempt: int | None = None) -> list[str]:
    """Every problem of `raw` as a result file called `name`; empty when it is valid. With
    `step` and `attempt`, a result for another step or a later attempt is a problem too."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"{name}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"{name}: Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
    found: list[str] = []
    try:
        ResultFile.from_json(raw)
    except ValidationError as exc:
        found = [f"{name}: {_field(error['loc'])}{_words(error)}" for error in exc.errors()]
    except ValueError as exc:  # pydantic's own JSON reader refused what json accepted
        return [f"{name}: {str(exc).strip().splitlines()[0]}"]
    if isinstance(data, dict):
        found += _mismatches(data, name=name, step=step, attempt=attempt)
    return found


def _mismatches(data: dict[str, Any], *, name: str, step: str | None, attempt: int | None) -> list[str]:
    found = []
    task_id, number = data.get("task_id"), data.get("attempt")
    if step is not None and isinstance(task_id, str) and task_id != step:
        found.append(
            f"{name}: task_id: is {task_id!r}, but this result is for {step} (copy it from the task)"
        )
    if attempt is not None and type(number) is int and number > attempt:
        found.append(
            f"{name}: attempt: is {number}, but the current attempt is {attempt} (copy it from the task)"
        )
    return found


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) + ": " if loc else ""


def _words(error: Any) -> str:
    """pydantic's message, said plainly, with the wrong value when it helps."""
    kind, message = str(error["type"]), str(error["msg"])
    if kind == "missing":
        return "missing (it is required)"
    if kind == "extra_forbidden":
        return "not a field of a result file (`conductor schema result` lists them)"
    if kind == "model_type":
        return "must be a JSON object"
    message = message.removeprefix("Value error, ")
    if message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
    if kind == "string_type":
        message = "must be a string"
    shown = repr(error.get("input"))
    if kind in ("value_error", "string_too_long") or len(shown) > SHOWN:
        return message
    return f"{message} (it is {shown})"
