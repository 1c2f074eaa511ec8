"""Which model to use: command line, then `.conductor/config.yaml`, then the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError
from conductor.llm.provider import Provider
from conductor.models.config import ConfigFile
from conductor.models.loader import validate
from conductor.models.source import read_file
from conductor.project import CONDUCTOR_DIR

CONFIG_FILE = f"{CONDUCTOR_DIR}/config.yaml"


@dataclass(frozen=True)
class LLMSettings:
    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_seconds: float = 120.0
    retries: int = 3
    retry_backoff_seconds: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "timeout_seconds": self.timeout_seconds,
            "retries": self.retries,
            "retry_backoff_seconds": self.retry_backoff_seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LLMSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and v is not None}
        return cls(**known)


def load_config(root: Path) -> ConfigFile:
    path = root / CONFIG_FILE
    if not path.exists():
        return ConfigFile()
    return validate(read_file(path, display=CONFIG_FILE), ConfigFile, schema="config")


def resolve(
    root: Path, *, llm: str | None = None, model: str | None = None, base_url: str | None = None
) -> LLMSettings | None:
    """The model settings in force, or None when no model is configured at all."""
    from conductor.llm import gemini

    config = load_config(root).llm
    provider = llm or (config.provider if config else None)
    if provider is None and gemini.api_key():
        provider = "gemini"
    if provider is None:
        return None
    if provider not in ("gemini", "openai", "ollama"):
        raise ConductorError(f"unknown model provider '{provider}' (known: gemini, openai, ollama)")
    chosen_model = model or (config.model if config else None)
    if chosen_model is None:
        if provider != "gemini":
            raise ConductorError(
                f"the {provider} provider needs a model name",
                hint="--model llama3.1, or llm.model in .conductor/config.yaml",
            )
        chosen_model = gemini.DEFAULT_MODEL
    return LLMSettings(
        provider=provider,
        model=chosen_model,
        base_url=base_url or (config.base_url if config else None),
        api_key_env=config.api_key_env if config else None,
        timeout_seconds=(config.timeout_seconds if config and config.timeout_seconds else 120.0),
        retries=config.retries if config and config.retries is not None else 3,
        retry_backoff_seconds=(
            config.retry_backoff_seconds if config and config.retry_backoff_seconds is not None else 1.0
        ),
    )


def make_provider(settings: LLMSettings) -> Provider:
    if settings.provider == "gemini":
        from conductor.llm.gemini import GeminiProvider

        return GeminiProvider(
            model=settings.model, base_url=settings.base_url, timeout_seconds=settings.timeout_seconds
        )
    from conductor.llm.openai_compat import OpenAIProvider

    return OpenAIProvider(
        model=settings.model,
        base_url=settings.base_url,
        timeout_seconds=settings.timeout_seconds,
        api_key_env=settings.api_key_env or "OPENAI_API_KEY",
        dialect="ollama" if settings.provider == "ollama" else "openai",
    )


NO_MODEL_HINT = (
    "set GEMINI_API_KEY (Gemini), or use a compatible server: --llm openai --base-url"
    " http://localhost:11434/v1 --model llama3.1 (Ollama), or put `llm:` in .conductor/config.yaml;"
    " without a model, give strategies yourself with --strategy and an executor with --exec"
)
