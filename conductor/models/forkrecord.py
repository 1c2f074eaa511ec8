"""`fork.json`, the record at the top of a fork log's tree (docs/storage.md): the fork, its
branch, its base and its planned steps — and the record format it shares with `plan.json`.

Free of pydantic, like `event`, because `conductor status` reads it and starts fast; it
validates on the way in all the same (`ForkRecord.from_json`): a record that is not one is a
LedgerFormatError naming the field, never a KeyError three modules later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from conductor.errors import LedgerFormatError
from conductor.models.layout import FORK_FILE

RECORD_FORMAT = 1
"""The format of plan.json and fork.json (their `format`; a record without one is format 1)."""

NOT_OURS = "the record was written by something other than Conductor"


def check_format(data: Any, *, what: str) -> None:
    """Refuse a plan.json or fork.json (`what`) of a newer format than this Conductor reads."""
    version = data.get("format", 1) if isinstance(data, dict) else 1
    if isinstance(version, int) and version > RECORD_FORMAT:
        raise LedgerFormatError(
            f"{what} was written in format {version}; this Conductor reads format {RECORD_FORMAT}",
            hint="upgrade Conductor to read it",
        )


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step the fork was planned with (or given later, by `conductor revise`)."""

    id: str  # step_NNN
    title: str


@dataclass(frozen=True, slots=True)
class ForkRecord:
    """What `fork.json` holds: written with the fork's first event, rewritten when a step is added."""

    id: str
    strategy: str
    branch: str  # its short name, conductor/<plan>/<fork>
    base: str  # the commit its first step starts from
    steps: tuple[PlannedStep, ...] = ()

    @property
    def step_ids(self) -> list[str]:
        return [step.id for step in self.steps]

    def with_step(self, step: str, title: str) -> ForkRecord:
        """The record with one more planned step, at the end."""
        return replace(self, steps=(*self.steps, PlannedStep(step, title)))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "id": self.id,
            "strategy": self.strategy,
            "branch": self.branch,
            "base": self.base,
            "steps": [{"id": step.id, "title": step.title} for step in self.steps],
        }

    def dumps(self) -> str:
        """The file's text, as the fork log's tree keeps it."""
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def loads(cls, raw: bytes | str) -> ForkRecord:
        try:
            data = json.loads(raw)
        except ValueError as exc:  # not JSON, or not UTF-8
            raise _refused(f"is not JSON ({str(exc).splitlines()[0]})") from None
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: Any) -> ForkRecord:
        """The record in `data` (keys it does not know are left out); LedgerFormatError when it
        is of a newer format, or a field is missing or of the wrong type."""
        check_format(data, what=FORK_FILE)
        if not isinstance(data, dict):
            raise _refused("is not a JSON object")
        steps = data.get("steps", [])
        if not isinstance(steps, list):
            raise _refused("is not a list", field="steps")
        return cls(
            id=_text(data, "id"),
            strategy=_text(data, "strategy", default=""),
            branch=_text(data, "branch"),
            base=_text(data, "base"),
            steps=tuple(_step(step, n) for n, step in enumerate(steps)),
        )


def _step(data: Any, n: int) -> PlannedStep:
    if not isinstance(data, dict):
        raise _refused("is not a JSON object", field=f"steps[{n}]")
    return PlannedStep(_text(data, "id", at=f"steps[{n}]."), _text(data, "title", at=f"steps[{n}]."))


def _text(data: dict[str, Any], key: str, *, default: str | None = None, at: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        raise _refused("is missing", field=f"{at}{key}")
    if not isinstance(value, str):
        raise _refused(f"is {type(value).__name__}, not text", field=f"{at}{key}")
    return value


def _refused(problem: str, *, field: str | None = None) -> LedgerFormatError:
    where = f" field '{field}'" if field else ""
    return LedgerFormatError(f"{FORK_FILE}:{where} {problem}", hint=NOT_OURS)
