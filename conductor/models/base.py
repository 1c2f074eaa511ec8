"""The base of every pydantic model Conductor reads from outside: strict about unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A validated, immutable record; unknown keys are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)
