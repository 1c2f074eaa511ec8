"""The result file: what an executor hands back for one task attempt."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from conductor.models.base import Model
from conductor.models.task import TASK_ID_PATTERN


class ResultStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"


class TokenUsage(Model):
    """Tokens the executor spent, when it knows."""

    input: int = Field(default=0, ge=0)
    output: int = Field(default=0, ge=0)

    @property
    def total(self) -> int:
        return self.input + self.output


class ResultFile(Model):
    """`step_NNN.result.json`, written beside `step_NNN.explanation.md`."""

    task_id: str = Field(pattern=TASK_ID_PATTERN, description="The task_id of the task file.")
    attempt: int = Field(ge=1, description="The attempt of the task file; stale attempts are refused.")
    status: ResultStatus = Field(description="'completed' or 'failed', as the executor sees it.")
    summary: str = Field(description="One or two sentences on what was done.")
    files_changed: list[str] = Field(
        default_factory=list, description="Repository-relative paths the executor changed."
    )
    tokens: TokenUsage | None = Field(default=None, description="Optional token usage.")
    cost: float | None = Field(default=None, ge=0, description="Optional cost in US dollars.")
    agent: str | None = Field(
        default=None, description="Optional: who did the work (e.g. 'Antigravity'); the commit author."
    )

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> ResultFile:
        return cls.model_validate_json(text)
