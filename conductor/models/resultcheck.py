"""What is wrong with a result file an executor wrote, in plain words and all at once: JSON
syntax with line and column, then every schema error with its field path, e.g.
`completed/step_001.result.json: files_changed.0: must be a string (it is 3)`."""

from __future__ import annotations

from typing import Any

from conductor.models import untrusted
from conductor.models.result import ResultFile


def problems(raw: bytes, *, name: str, step: str | None = None, attempt: int | None = None) -> list[str]:
    """Every problem of `raw` as a result file called `name`; empty when it is valid. With
    `step` and `attempt`, a result for another step or a later attempt is a problem too.
    Read through the bounded reader (models/untrusted.py): any bytes give a list, never a crash."""
    try:
        data = untrusted.loads(raw, name=name)
    except untrusted.UntrustedError as exc:
        return exc.problems
    found: list[str] = []
    try:
        ResultFile.from_json(raw, name=name)
    except untrusted.UntrustedError as exc:
        found = exc.problems
    if isinstance(data, dict):
        found += _mismatches(data, name=name, step=step, attempt=attempt)
    return found


def _mismatches(data: dict[str, Any], *, name: str, step: str | None, attempt: int | None) -> list[str]:
    found = []
    task_id, number = data.get("task_id"), data.get("attempt")
    if step is not None and isinstance(task_id, str) and task_id != step:
        wrong = untrusted.shown(task_id)
        found.append(f"{name}: task_id: is {wrong}, but this result is for {step} (copy it from the task)")
    if attempt is not None and type(number) is int and number > attempt:
        found.append(
            f"{name}: attempt: is {number}, but the current attempt is {attempt} (copy it from the task)"
        )
    return found
