"""Plans: a goal, one or more forks (strategies), each an ordered list of steps.

A plan file may give `steps:` directly (one fork named "main") or `forks:`; both become a
PlanSpec. The planner (an LLM) produces the same structure.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from conductor.models.base import Model
from conductor.models.paths import RepoPath
from conductor.models.policy import PolicyFile

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
_ID = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    """Plan and fork ids are used in ref names and directory names: keep them plain."""
    return bool(_ID.match(value)) and ".." not in value and not value.endswith((".", ".lock"))


class StepSpec(Model):
    """One unit of work for an executor."""

    title: str = Field(min_length=1, description="Short title; becomes the commit subject.")
    instruction: str = Field(min_length=1, description="What the executor must do.")
    allowed_files: list[RepoPath] = Field(
        default_factory=list,
        description="Paths or glob patterns the step may change (empty: everything not protected).",
    )
    constraints: list[str] = Field(default_factory=list, description="Extra rules for this step.")
    verify: list[str] = Field(default_factory=list, description="Commands that prove the step.")
    timeout_seconds: int | None = Field(default=None, ge=1, description="Overrides the policy.")
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="The planner's own estimate, if any."
    )
    expected_lines: int | None = Field(
        default=None, ge=0, description="Expected added + removed lines (the planner's estimate)."
    )
    allow_empty: bool = Field(
        default=False,
        description="The step may end without changing anything (default: a step whose executor"
        " changed nothing is rejected, as an agent that failed quietly would).",
    )
    policy: PolicyFile | None = Field(default=None, description="Step-level policy overrides.")

    @field_validator("title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        """A title becomes a commit subject and a record's message: one line of text."""
        bad = next((c for c in value if ord(c) < 32 or 0x7F <= ord(c) <= 0x9F), None)
        if bad is not None:
            raise ValueError(f"a title is one line of text; it holds the control character {bad!r}")
        return value


class ForkSpec(Model):
    """A strategy: an id (used in the branch name), a description and its steps."""

    id: str = Field(description="Lowercase id used in refs, e.g. 'argparse-json'.")
    strategy: str = Field(default="", description="The approach, in plain language.")
    steps: list[StepSpec] = Field(min_length=1)
    first_step: int = Field(
        default=1,
        ge=1,
        description="The number of the first step (step_NNN); `conductor fork --from` sets it so that"
        " the new plan's steps keep the numbers they had in the old one.",
    )

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not is_valid_id(value):
            raise ValueError(
                f"'{value}' is not a valid fork id (lowercase letters, digits, '.', '_', '-';"
                " at most 63 characters)"
            )
        return value


class PlanSpec(Model):
    """What to do: the goal, plan-level policy overrides and the steps (one fork) or the forks."""

    goal: str = Field(default="", description="The goal in plain language.")
    policy: PolicyFile | None = Field(default=None, description="Plan-level policy overrides.")
    forks: list[ForkSpec] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _steps_shorthand(cls, data: Any) -> Any:
        """`steps:` at the top level is a plan with a single fork named 'main'."""
        if isinstance(data, dict) and "steps" in data:
            if "forks" in data:
                raise ValueError("give either 'steps' or 'forks', not both")
            rest = {k: v for k, v in data.items() if k != "steps"}
            return {**rest, "forks": [{"id": "main", "steps": data["steps"]}]}
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The published schema accepts what the loader accepts: `steps:` (the shorthand) or
        `forks:`, exactly one of them."""
        json_schema = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        steps = handler(core_schema.list_schema(StepSpec.__pydantic_core_schema__, min_length=1))
        steps["title"] = "Steps"
        steps["description"] = (
            "The steps of a plan with one strategy: shorthand for a single fork named 'main'"
            " (give either steps or forks)."
        )
        properties = dict(target["properties"])
        forks = properties.pop("forks")
        forks["description"] = "One or more strategies, each with its steps (give either steps or forks)."
        target["properties"] = {**properties, "steps": steps, "forks": forks}
        target.pop("required", None)
        target["oneOf"] = [{"required": ["steps"]}, {"required": ["forks"]}]
        return json_schema

    @classmethod
    def source_location(cls, loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
        """Where an error in the validated (reshaped) data is in the file as written."""
        if isinstance(data, dict) and "steps" in data and "forks" not in data and loc[:2] == ("forks", 0):
            rest = loc[2:]
            if rest[:1] == ("steps",):
                return rest
            return ("steps",) if rest[:1] == ("id",) else loc
        return loc

    @field_validator("forks")
    @classmethod
    def _unique_forks(cls, forks: list[ForkSpec]) -> list[ForkSpec]:
        seen: set[str] = set()
        for fork in forks:
            if fork.id in seen:
                raise ValueError(f"fork id '{fork.id}' is used twice")
            seen.add(fork.id)
        return forks
