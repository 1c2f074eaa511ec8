"""Agent profiles: how Conductor runs a particular CLI agent (docs/agents.md). The built-in
ones (conductor/resources/agents.yaml) and a project's own (`.conductor/agents.yaml`) are the
same data, validated by these models.

A profile's `command` is a shell command run in the fork's worktree. Its placeholders:
`{model_args}` (`model_args` with `{model}` filled in, or nothing when no model is chosen),
`{base_url_args}` (likewise, with `{base_url}`, when --base-url gives one), `{model}`,
`{base_url}`, `{prompt_file}` (a file holding the task as a prompt) and `{workspace}`. The
prompt is also on the command's standard input.
"""

from __future__ import annotations

import re
import string

from pydantic import ConfigDict, Field, field_validator, model_validator

from conductor.models.base import Model

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
PLACEHOLDERS = frozenset({"model_args", "model", "base_url_args", "base_url", "prompt_file", "workspace"})
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _placeholders(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}") from None


class AgentProfileSpec(_Strict):
    """One agent, as `.conductor/agents.yaml` declares it under `agents: NAME:`."""

    description: str = Field(default="", description="One line on what the agent is.")
    program: str = Field(
        min_length=1,
        description="The executable the command runs, looked up on PATH (what `conductor agents`"
        " checks, and what must resolve before a plan starts).",
    )
    command: str = Field(
        min_length=1,
        description="Shell command run in the worktree for each task. Placeholders: {model_args},"
        " {base_url_args}, {model}, {base_url}, {prompt_file}, {workspace}; the prompt is also on"
        " standard input.",
    )
    install: str = Field(default="", description="How to install the program, shown when it is missing.")
    version_args: list[str] = Field(
        default_factory=lambda: ["--version"],
        description="Arguments that make the program print its version.",
    )
    model: str | None = Field(default=None, description="The model used when --model does not name one.")
    model_args: str = Field(
        default="--model {model}", description="What {model_args} becomes when a model is chosen."
    )
    base_url_env: list[str] = Field(
        default_factory=list,
        description="Environment variables --base-url sets (the API address); without --base-url, the"
        " first of them set in your environment is the address ({base_url_args} too).",
    )
    base_url_args: str = Field(
        default="", description="What {base_url_args} becomes when --base-url gives an address."
    )
    env: list[str] = Field(
        default_factory=list,
        description="Variables passed from Conductor's environment when set (its API key, its base"
        " URL). Nothing else of the environment reaches the agent but PATH, locale and proxy settings.",
    )
    key_env: list[str] = Field(
        default_factory=list,
        description="Of those, the ones that hold its API key: `conductor agents` says whether one is set.",
    )
    set_env: dict[str, str] = Field(
        default_factory=dict, description="Variables set to these values (telemetry off, no update checks)."
    )
    home: dict[str, str] = Field(
        default_factory=dict,
        description="Files written into the agent's private home for each task (path relative to"
        " the home → content; {workspace} and {model} are filled in): settings that skip first-run"
        " prompts. The agent never sees your home.",
    )
    scratch: list[str] = Field(
        default_factory=list,
        description="Gitignore patterns of the files the agent leaves in the worktree (chat history,"
        " caches): never committed, never counted as a change.",
    )
    network: list[str] = Field(
        default_factory=list,
        description="The hosts it reaches (its provider's API: host, host:port, *.domain) when the"
        " policy does not say what the network is; --base-url's host is added.",
    )
    fails_when: list[str] = Field(
        default_factory=list,
        description="Regular expressions: output that means the run failed even though it exited 0"
        " (the model unreachable, an edit refused).",
    )

    @field_validator("command", "model_args", "base_url_args")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        unknown = _placeholders(value) - PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{sorted(unknown)[0]}}} (known: "
                + ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
                + ")"
            )
        return value

    @field_validator("env", "key_env", "base_url_env")
    @classmethod
    def _env_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"'{name}' is not an environment variable name")
        return value

    @field_validator("set_env")
    @classmethod
    def _set_env_names(cls, value: dict[str, str]) -> dict[str, str]:
        cls._env_names(list(value))
        return value

    @field_validator("home")
    @classmethod
    def _home_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            parts = path.split("/")
            if not path or path.startswith("/") or ".." in parts or "" in parts:
                raise ValueError(f"'{path}' is not a relative path inside the home")
        return value

    @field_validator("fails_when")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"'{pattern}' is not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _keys_are_passed(self) -> AgentProfileSpec:
        missing = [name for name in self.key_env if name not in self.env]
        if missing:
            raise ValueError(f"key_env names {missing[0]}, which env does not pass")
        return self


class AgentsFile(_Strict):
    """`.conductor/agents.yaml`: profiles of the project's own, or changes to built-in ones (a
    profile of the same name replaces the built-in one)."""

    version: int | None = Field(default=None, ge=1, le=1, description="Format (1).")
    agents: dict[str, AgentProfileSpec] = Field(default_factory=dict, description="Profiles by name.")

    @field_validator("agents")
    @classmethod
    def _names(cls, value: dict[str, AgentProfileSpec]) -> dict[str, AgentProfileSpec]:
        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(
                    f"'{name}' is not a valid agent name (lowercase letters, digits, '-', '_'; at most 32)"
                )
        return value
