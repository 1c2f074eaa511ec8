"""What models answer: plans (strategies of steps) and edits (changes to files)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from conductor.models.base import Model
from conductor.models.paths import RepoPath
from conductor.models.plan import is_valid_id


class PlannedStep(Model):
    title: str = Field(
        min_length=1, max_length=100, description="Short, imperative: becomes the commit subject."
    )
    instruction: str = Field(min_length=1, description="Precise instruction for the executor.")
    allowed_files: list[RepoPath] = Field(
        min_length=1, description="Repository-relative files it may change."
    )
    verify: list[str] = Field(default_factory=list, description="Shell commands that prove the step.")
    confidence: float = Field(ge=0.0, le=1.0, description="Your estimate that the step succeeds.")
    expected_lines: int | None = Field(default=None, ge=0, description="Expected added + removed lines.")


class PlannedStrategy(Model):
    id: str = Field(description="Lowercase id, e.g. 'argparse-json' (letters, digits, '-').")
    strategy: str = Field(min_length=1, description="The approach in one or two sentences.")
    steps: list[PlannedStep] = Field(min_length=1, max_length=10)

    @field_validator("id")
    @classmethod
    def _valid(cls, value: str) -> str:
        if not is_valid_id(value):
            raise ValueError(f"'{value}' is not a valid id (lowercase letters, digits, '-', '_', '.')")
        return value


class PlanAnswer(Model):
    strategies: list[PlannedStrategy] = Field(min_length=1, max_length=6)


class FileEdit(Model):
    path: str = Field(description="Repository-relative path of the file.")
    action: Literal["write", "replace", "delete"] = Field(
        description="write: the whole new content; replace: search/replace once; delete: remove the file."
    )
    content: str | None = Field(default=None, description="For write: the complete file.")
    search: str | None = Field(default=None, description="For replace: exact text that occurs once.")
    replace: str | None = Field(default=None, description="For replace: its replacement.")


class EditAnswer(Model):
    summary: str = Field(min_length=1, description="One sentence: what the change does.")
    explanation: str = Field(description="Markdown for a reviewer: what and why.")
    edits: list[FileEdit]


def answer_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with every $ref inlined (not every API follows references)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[1]])
            return {k: inline(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)  # type: ignore[no-any-return]
