"""`.conductor/config.yaml`: which model Conductor uses, and how explore runs by default."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from conductor.models.base import Model


class _Section(Model):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LLMConfig(_Section):
    provider: Literal["gemini", "openai", "ollama"] | None = Field(
        default=None,
        description=(
            "gemini (needs GEMINI_API_KEY), openai (any OpenAI-compatible server) or ollama"
            " (its OpenAI-compatible API, sent the schema subset its `format` follows)."
        ),
    )
    model: str | None = Field(default=None, description="Model name (gemini default: gemini-3.8-flash).")
    base_url: str | None = Field(default=None, description="API address, e.g. http://localhost:11434/v1.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the key (openai default: OPENAI_API_KEY)."
    )
    timeout_seconds: float | None = Field(default=None, gt=0, description="Per call (default 120).")
    retries: int | None = Field(
        default=None, ge=0, le=10, description="Retries of 408/429/5xx/network (default 3)."
    )
    retry_backoff_seconds: float | None = Field(
        default=None, ge=0, description="First backoff (default 1.0)."
    )


class ExploreConfig(_Section):
    forks: int | None = Field(default=None, ge=1, le=8, description="Strategies to plan (default 3).")
    jobs: int | None = Field(default=None, ge=1, le=16, description="Forks run at once (default 4).")


class ConfigFile(_Section):
    llm: LLMConfig | None = None
    explore: ExploreConfig | None = None
