"""Confidence scores and their bands: HIGH >= 0.8, MEDIUM >= 0.5, LOW below."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from conductor.models.base import Model

HIGH_AT = 0.8
MEDIUM_AT = 0.5


class ConfidenceLevel(StrEnum):
    """What a score means for execution (docs/protocol.md)."""

    HIGH = "high"  # fully autonomous execution
    MEDIUM = "medium"  # proceed with caution
    LOW = "low"  # human review recommended

    @classmethod
    def for_score(cls, score: float) -> ConfidenceLevel:
        if score >= HIGH_AT:
            return cls.HIGH
        if score >= MEDIUM_AT:
            return cls.MEDIUM
        return cls.LOW


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # the level is derived from the score, not defaulted


class Confidence(Model):
    """A score in [0, 1] and the level it falls in; the level is always derived."""

    score: float = Field(ge=0.0, le=1.0, description="0 (no confidence) to 1 (certain).")
    level: ConfidenceLevel = Field(
        default=ConfidenceLevel.LOW,
        description="Derived from score: high >= 0.8, medium >= 0.5, low below. Optional; "
        "when given it must match the score.",
        json_schema_extra=_no_default,
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_level(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("score"), int | float):
            derived = ConfidenceLevel.for_score(float(data["score"])).value
            given = data.get("level")
            if given is not None and given != derived:
                raise ValueError(
                    f"level '{given}' does not match score {data['score']} (expected '{derived}')"
                )
            data = {**data, "level": derived}
        return data
