"""What models answer: plans (strategies of steps) and edits (changes to files).

These are wire models: they ask for nothing a provider's schema dialect cannot say
(conductor.llm.schema), so any answer that follows the schema parses. Labels (strategy ids,
titles, summaries, a confidence out of range) are normalized here; what matters — paths,
instructions, edit actions and contents — is checked by `plan_problems` and `edit_problems`,
whose findings go back to the model in a re-ask.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from conductor.models.base import Model
from conductor.models.paths import escape_reason

TITLE_CHARS = 100


class Answer(Model):
    """An answer model: a null for a field with a default means the default (OpenAI's strict
    mode sends every optional field, as null when it has nothing to say)."""

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fields = cls.model_fields
            return {
                k: v
                for k, v in data.items()
                if not (v is None and k in fields and not fields[k].is_required())
            }
        return data


def label(text: str, *, limit: int = TITLE_CHARS) -> str:
    """One line of at most `limit` characters: whitespace and control characters collapsed."""
    flat = re.sub(r"[\s\x00-\x1f\x7f]+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class PlannedStep(Answer):
    title: str = Field(
        description=f"Short, imperative, at most {TITLE_CHARS} characters: becomes the commit subject."
    )
    instruction: str = Field(description="Precise instruction for the executor.")
    allowed_files: list[str] = Field(min_length=1, description="Repository-relative files it may change.")
    verify: list[str] = Field(default_factory=list, description="Shell commands that prove the step.")
    confidence: float = Field(
        description="Your estimate that the step succeeds, from 0 to 1.",
        json_schema_extra={"minimum": 0, "maximum": 1},
    )
    expected_lines: int | None = Field(
        default=None, description="Expected added + removed lines.", json_schema_extra={"minimum": 0}
    )

    @field_validator("confidence")
    @classmethod
    def _clamp(cls, value: float) -> float:
        return min(1.0, max(0.0, value)) if value == value else 0.5

    @field_validator("expected_lines")
    @classmethod
    def _not_negative(cls, value: int | None) -> int | None:
        return value if value is None or value >= 0 else None

    @model_validator(mode="after")
    def _title(self) -> PlannedStep:
        title = label(self.title) or label(self.instruction) or "Untitled step"
        if title != self.title:
            object.__setattr__(self, "title", title)
        return self


class PlannedStrategy(Answer):
    id: str = Field(description="Short lowercase id, e.g. 'argparse-json' (letters, digits, '-').")
    strategy: str = Field(description="The approach in one or two sentences.")
    steps: list[PlannedStep] = Field(min_length=1, max_length=10)


class PlanAnswer(Answer):
    strategies: list[PlannedStrategy] = Field(min_length=1, max_length=6)


class FileEdit(Answer):
    path: str = Field(description="Repository-relative path of the file.")
    action: Literal["write", "replace", "delete"] = Field(
        description="write: the whole new content; replace: search/replace once; delete: remove the file."
    )
    content: str | None = Field(default=None, description="For write: the complete file.")
    search: str | None = Field(default=None, description="For replace: exact text that occurs once.")
    replace: str | None = Field(default=None, description="For replace: its replacement.")


class EditAnswer(Answer):
    summary: str = Field(description="One sentence: what the change does.")
    explanation: str = Field(description="Markdown for a reviewer: what and why.")
    edits: list[FileEdit]

    @model_validator(mode="after")
    def _summary(self) -> EditAnswer:
        summary = (
            label(self.summary, limit=200)
            or f"Edited {len(self.edits)} file{'' if len(self.edits) == 1 else 's'}"
        )
        if summary != self.summary:
            object.__setattr__(self, "summary", summary)
        return self


def plan_problems(answer: PlanAnswer) -> list[str]:
    """What is wrong with a plan beyond its labels: empty instructions, paths that leave the
    repository. Said so the model can fix them."""
    problems = []
    for s_index, strategy in enumerate(answer.strategies):
        for t_index, step in enumerate(strategy.steps):
            where = f"strategies.{s_index}.steps.{t_index}"
            if not step.instruction.strip():
                problems.append(f"{where}.instruction: is empty; say what the executor must do")
            for p_index, path in enumerate(step.allowed_files):
                reason = escape_reason(path)
                if reason:
                    problems.append(f"{where}.allowed_files.{p_index}: '{path}' {reason}")
    return problems


def edit_problems(answer: EditAnswer) -> list[str]:
    """Edits that cannot be carried out as given: a write without content, a replace without
    search text. (Paths are checked where they are written: conductor.executors.edits.)"""
    problems = []
    for index, edit in enumerate(answer.edits):
        if edit.action == "write" and edit.content is None:
            problems.append(f"edits.{index} ({edit.path}): action 'write' needs the whole file in content")
        if edit.action == "replace" and not edit.search:
            problems.append(f"edits.{index} ({edit.path}): action 'replace' needs the exact search text")
    return problems


def answer_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The canonical schema of an answer model (each provider cuts it to its dialect)."""
    from conductor.llm.schema import canonical

    return canonical(model)
