"""The task file: what Conductor hands an executor (docs/protocol.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from conductor.models import untrusted
from conductor.models.base import Model
from conductor.models.confidence import Confidence
from conductor.models.paths import RepoPath

TASK_ID_PATTERN = r"^step_[0-9]{3,}$"
TASK_FORMAT = 1
"""The task file format this Conductor writes and reads (`format`; a task without one is 1)."""
TASK_LIMIT = 4 * 1024 * 1024
"""Bytes of a task file read back to check it (a task is a few KiB)."""


def record_digest(raw: bytes | str, *, name: str = "the task file") -> str:
    """The checksum of a task file as recorded (docs/provenance.md, "Canonical form"): sha256 of
    the file parsed as plain JSON within the untrusted reader's bounds, its top-level
    `checksum` key removed, written with sorted keys, `,` and `:` between items and non-ASCII
    text as UTF-8. It depends on the bytes recorded only, never on the fields this Conductor's
    TaskFile has; what cannot be read is an UntrustedError (a ValueError) naming `name`."""
    return canonical_checksum(untrusted.load_object(raw, name=name, limit=TASK_LIMIT))


def canonical_checksum(record: Mapping[str, Any]) -> str:
    """record_digest of a task file already parsed as plain JSON (`record`, not changed)."""
    body = {key: value for key, value in record.items() if key != "checksum"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


class PreviousStep(Model):
    """A step that ran before this one in the same fork, for the executor's context."""

    task_id: str
    title: str
    status: str
    summary: str = ""


class RepairContext(Model):
    """Why the previous attempt failed, so the next one can do better."""

    attempt: int = Field(ge=1, description="The attempt that failed.")
    failure: str = Field(description="The failure name, e.g. 'Constraint violation'.")
    reason: str = Field(description="What exactly went wrong.")
    hint: str = Field(default="", description="The recovery hint for this failure.")
    evidence: list[str] = Field(default_factory=list, description="Short evidence excerpts.")
    rejected_diff: str = Field(default="", description="Summary of the rejected change.")


class ConventionFile(Model):
    """A convention file of the repository (AGENTS.md…) that applies to the step, as committed
    where the step starts (docs/conventions.md)."""

    path: RepoPath = Field(description="Repository-relative: AGENTS.md, src/AGENTS.md.")
    digest: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$", description="sha256 of the whole file, as committed."
    )
    bytes: int = Field(ge=0, description="Its size.")
    shown: int = Field(
        ge=0,
        description="How many of its bytes Conductor's prompts quote: less than `bytes` when the"
        " conventions' caps cut it (conventions.max_file_bytes, conventions.max_bytes).",
    )


class TaskContext(Model):
    """Background for the executor: the goal, the strategy, earlier steps and lessons."""

    goal: str = ""
    strategy: str = ""
    plan_id: str = ""
    fork_id: str = ""
    previous_steps: list[PreviousStep] = Field(
        default_factory=list,
        description="The steps before this one in the fork, in plan order: the last 10 at most.",
    )
    earlier_steps: int = Field(
        default=0,
        ge=0,
        description="How many steps came before the first of previous_steps (not listed; their"
        " records are in the fork log).",
    )
    lessons: list[str] = Field(default_factory=list)
    repair: RepairContext | None = None
    conventions: list[ConventionFile] = Field(
        default_factory=list,
        description="The repository's convention files that apply to this step, root first and the"
        " nearest directory's last: read them in the workspace and follow them within the task.",
    )


class TaskFile(Model):
    """`step_NNN.task.json`. The first six fields are the original task contract, unchanged."""

    task_id: str = Field(pattern=TASK_ID_PATTERN, description="e.g. 'step_001'.")
    instruction: str = Field(min_length=1, description="What to do, in plain language.")
    allowed_files: list[RepoPath] = Field(
        description="Repository-relative paths or glob patterns the executor may change."
    )
    constraints: list[str] = Field(
        default_factory=list, description="Rules in plain language (policy + plan + step)."
    )
    timeout_seconds: int = Field(gt=0, description="Time allowed from hand-out to result.")
    confidence: Confidence
    workspace: str = Field(default="", description="Absolute path of the worktree to edit.")
    context: TaskContext = Field(default_factory=TaskContext)
    verify: list[str] = Field(
        default_factory=list, description="Commands Conductor runs as evidence after the step."
    )
    attempt: int = Field(default=1, ge=1, description="Copy it into the result file.")
    checksum: str = Field(
        default="",
        description="sha256 of the task without this field (canonical JSON); set by Conductor.",
    )
    format: int = Field(
        default=TASK_FORMAT,
        description=f"The task file format ({TASK_FORMAT}); a task without it is format 1.",
    )

    @field_validator("allowed_files")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one path or pattern")
        return value

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: int) -> int:
        if not 1 <= value <= TASK_FORMAT:
            raise ValueError(
                f"task file format {value}: this Conductor reads format {TASK_FORMAT}"
                + (" (upgrade Conductor)" if value > TASK_FORMAT else "")
            )
        return value

    def canonical_digest(self) -> str:
        """The checksum of this task as it is recorded (`to_json`): `record_digest` of those
        bytes, the one function sealing, the mailbox check and `conductor verify` use."""
        return record_digest(self.to_json())

    def sealed(self) -> TaskFile:
        """This task with its checksum filled in (`checksum` is not part of what it covers)."""
        return self.model_copy(update={"checksum": self.canonical_digest()})

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> TaskFile:
        return cls.model_validate_json(text)
