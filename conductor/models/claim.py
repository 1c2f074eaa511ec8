"""A worker's claim of a queued task (`worker.json` of a claim commit, executors/queue.py): who
claimed it and when. Written by `conductor worker`, read by the coordinator through the bounded
reader (models/untrusted.py) and recorded in `task.claimed` with these fields only."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from conductor.models.base import Model
from conductor.models.result import plain_text

NAME_MAX = 100
HOST_MAX = 255
CLAIM_LIMIT = 64 * 1024  # bytes of a claim's worker.json: a few hundred are enough


class WorkerClaim(Model):
    """`worker.json`: the worker's name (`--name`), its host, and the times of the claim."""

    name: str = Field(min_length=1, max_length=NAME_MAX, description="The worker's name (--name).")
    host: str = Field(default="", max_length=HOST_MAX, description="The machine it runs on.")
    claimed_at: float = Field(ge=0, allow_inf_nan=False, description="When it claimed (epoch seconds).")
    queued_at: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    waited_seconds: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    dispatch_seconds: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @field_validator("name", "host")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return plain_text(value)  # shown on the coordinator's terminal and recorded

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
