"""The result file: what an executor hands back for one task attempt."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from conductor.models import untrusted
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


SUMMARY_MAX = 2000
AGENT_MAX = 100
PATH_MAX = 4096


def plain_text(value: str, *, allow: str = "") -> str:
    """Text Conductor can record as it is: UTF-8, no control characters but those allowed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid UTF-8 (it holds a lone surrogate)") from None
    bad = next((c for c in value if (ord(c) < 32 or 127 <= ord(c) < 160) and c not in allow), None)
    if bad is not None:
        raise ValueError(f"must not contain control characters (found {bad!r})")
    return value


class ResultFile(Model):
    """`step_NNN.result.json`, written beside `step_NNN.explanation.md`."""

    task_id: str = Field(pattern=TASK_ID_PATTERN, description="The task_id of the task file.")
    attempt: int = Field(ge=1, description="The attempt of the task file; stale attempts are refused.")
    status: ResultStatus = Field(description="'completed' or 'failed', as the executor sees it.")
    summary: str = Field(
        max_length=SUMMARY_MAX, description="One or two sentences on what was done (at most 2000 characters)."
    )
    files_changed: list[str] = Field(
        default_factory=list, description="Repository-relative paths the executor changed."
    )
    tokens: TokenUsage | None = Field(default=None, description="Optional token usage.")
    cost: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Optional cost in US dollars."
    )
    agent: str | None = Field(
        default=None,
        min_length=1,
        max_length=AGENT_MAX,
        description="Optional: who did the work (e.g. 'Antigravity'); the commit author's name. "
        "One line, without '<' or '>'.",
    )

    @field_validator("summary")
    @classmethod
    def _summary_text(cls, value: str) -> str:
        return plain_text(value, allow="\t\n\r")

    @field_validator("files_changed")
    @classmethod
    def _paths_text(cls, value: list[str]) -> list[str]:
        for path in value:
            if len(path) > PATH_MAX:
                raise ValueError(f"a path longer than {PATH_MAX} characters")
            plain_text(path)
        return value

    @field_validator("agent")
    @classmethod
    def _agent_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "<" in value or ">" in value:
            raise ValueError("must not contain '<' or '>' (it becomes a commit author's name)")
        if not value.strip():
            raise ValueError("must not be blank")
        return plain_text(value)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, name: str = "result file") -> ResultFile:
        """The result in `text` (an executor's: read through the bounded reader, strictly);
        UntrustedError listing every problem, each naming its field."""
        return untrusted.load_model(cls, text, name=name, what="a result file", schema="result")
