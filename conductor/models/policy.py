"""The schema of `.conductor/policy.yaml` and of the policy overrides in plans and steps.

Every field is optional: a file sets only what it wants, and `conductor.policy.effective`
merges project -> plan -> step over the defaults. Types are strict (a quoted "500" is not a
number) because a policy that silently means something else is worse than an error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from conductor.models.base import Model
from conductor.models.defaults import LAYERED_FILES, MAX_CHANGE_BYTES, MAX_FILE_BYTES, said
from conductor.models.sizes import parse_size


class _Section(Model):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FileRules(_Section):
    protected_patterns: list[str] | None = Field(
        default=None,
        description=(
            "Gitignore-style patterns (repository-relative) that no agent step and no human "
            "commit (through the guard hook) may add, modify, delete or rename."
        ),
    )
    secrets_allowed: list[str] | None = Field(
        default=None,
        description="Gitignore-style patterns of files that may hold credential-shaped strings (test"
        " fixtures); elsewhere a change that adds one is refused. A known secret's value never is"
        " allowed. Only the project's policy file sets it.",
    )
    review_patterns: list[str] | None = Field(
        default=None,
        description="Gitignore-style patterns of files whose change could fake the evidence (test"
        " configuration, CI definitions, .gitattributes…): a step that changes one waits for a"
        " person (`conductor approve`, or --yes) naming the paths.",
    )


class Behavior(_Section):
    max_diff_lines: int | None = Field(
        default=None,
        ge=1,
        description=f"Most added+removed lines one step may change ({said('behavior.max_diff_lines')}).",
    )
    max_files_changed: int | None = Field(
        default=None,
        ge=1,
        description=f"Most files one step may change ({said('behavior.max_files_changed')}).",
    )
    timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        description=f"Time an executor has for one task ({said('behavior.timeout_seconds')}).",
    )
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        description=f"Attempts per step, repairs included ({said('behavior.max_attempts')}).",
    )
    shell_commands: bool | None = Field(
        default=None,
        description="Whether an executor may run shell commands it was not told to run"
        f" ({said('behavior.shell_commands')}:"
        " every task carries the constraint 'Do NOT run shell commands unless instructed'). A plan or"
        " a step may allow them for itself.",
    )
    max_result_bytes: int | None = Field(
        default=None,
        ge=1024,
        description="Largest result or explanation file an executor may write, in bytes "
        f"({said('behavior.max_result_bytes')}); a larger one rejects the attempt.",
    )
    max_file_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Largest file a step may add or change, in bytes"
        f" ({said('behavior.max_file_bytes')}, {MAX_FILE_BYTES >> 20} MiB; a sparse"
        " file counts by its apparent size); a larger one rejects the attempt without being read. A"
        " plan or step may lower it, not raise it.",
    )
    max_change_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Most bytes the files one step adds or changes may hold together"
        f" ({said('behavior.max_change_bytes')}, {MAX_CHANGE_BYTES >> 20} MiB); a larger change"
        " rejects the attempt without being read. A plan or step may lower it, not raise it.",
    )


class VerifyRules(_Section):
    commands: list[str] | None = Field(
        default=None,
        description="Shell commands run in the worktree after every step; all must exit 0.",
    )
    timeout_seconds: int | None = Field(
        default=None, ge=1, description=f"Time allowed per verify command ({said('verify.timeout_seconds')})."
    )
    pinned: list[str] | None = Field(
        default=None,
        description="Gitignore-style patterns of files (existing tests) the verify commands run as"
        " they are at the plan's base, whatever the fork changed in them; new files run as written.",
    )


class ConfidenceRules(_Section):
    approval_below: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Steps scoring below this wait for `conductor approve`"
        f" ({said('confidence.approval_below')} = LOW).",
    )


SignMode = Literal["auto", "always", "never"]


class ProvenanceRules(_Section):
    sign: SignMode | None = Field(
        default=None,
        description="Sign step provenance with sigstore: auto (when an identity exists), "
        f"always, or never ({said('provenance.sign')}).",
    )


SandboxMode = Literal["auto", "required", "off"]


class SandboxRules(_Section):
    mode: SandboxMode | None = Field(
        default=None,
        description="Run executor, verify and worker commands under bubblewrap: auto (when it can "
        "run here; else unsandboxed, with the fallback checks), required (refuse to run without "
        f"it), off ({said('sandbox.mode')}). A plan or step can make it stricter, never looser.",
    )
    network: bool | list[str] | None = Field(
        default=None,
        description="What sandboxed commands may reach: true (the whole network; the default for"
        " --exec commands), false (nothing), or a list of hosts (host, host:port, *.domain) reached"
        " through Conductor's proxy — an agent profile's default is its provider's API host. A plan"
        " or step can narrow it, never widen it.",
    )

    @field_validator("network")
    @classmethod
    def _hosts(cls, value: bool | list[str] | None) -> bool | list[str] | None:
        if isinstance(value, list):
            for host in value:
                if not host.strip() or any(c.isspace() for c in host.strip()) or "@" in host:
                    raise ValueError(
                        f"'{host}' is not a host or host:port (api.openai.com, *.example.com:443)"
                    )
        return value

    unix_sockets: bool | None = Field(
        default=None,
        description="With the network shared (network: true), let sandboxed commands make unix"
        " sockets; they could then reach the machine's abstract unix sockets"
        f" ({said('sandbox.unix_sockets')}:"
        " socketpair() still works). Only the project's policy file sets it.",
    )
    env: list[str] | None = Field(
        default=None,
        description="Variables of your environment that commands get besides the basics (PATH,"
        " locale, proxies): names or globs (MY_APP_*); a secret-looking one (*KEY*, *TOKEN*,"
        " *SECRET*, *PASSWORD*, …) passes only when named exactly. Only the project's policy file"
        " sets it.",
    )
    expose: list[str] | None = Field(
        default=None,
        description="Paths the sandbox shows read-only though they are hidden (in your checkout, say a"
        " tools/ folder with the agent's script); relative ones are in the checkout. Only the"
        " project's policy file sets it.",
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _unquoted_off(cls, value: object) -> object:
        """YAML reads an unquoted `off` as false: take it as meant."""
        return "off" if value is False else value


class WorkspaceRules(_Section):
    setup: list[str] | None = Field(
        default=None,
        description="Commands run in each new worktree before its first step (e.g. `pip install -e .`,"
        " `npm ci`), and again when a file in setup_inputs changes; their output is evidence.",
    )
    setup_inputs: list[str] | None = Field(
        default=None,
        description="Files whose change makes the setup run again (lock files: uv.lock, package-lock.json).",
    )
    env: dict[str, str] | None = Field(
        default=None,
        description="Environment for the executor and verify commands. $NAME takes the value from"
        " Conductor's environment; relative entries of variables named *PATH, *_DIR, *_HOME or"
        " *_FILE, and values starting with ./, are resolved against the worktree (PYTHONPATH: src).",
    )
    copy_files: list[str] | None = Field(
        default=None,
        alias="copy",
        description="Untracked files of the checkout copied into each new worktree (e.g. .env);"
        " they are the workspace's, never part of a step's change.",
    )
    worktrees: str | None = Field(
        default=None,
        description="Directory for the fork worktrees, outside the repository (~ and $VARS expand;"
        " default: $XDG_STATE_HOME/conductor, i.e. ~/.local/state/conductor). Only the project's"
        " policy file sets it.",
    )
    layers: Literal["auto", "on", "off"] | None = Field(
        default=None,
        description="Layered worktrees: a sandboxed fork's files as one shared read-only checkout of"
        " the base commit under layers of the fork's own, made, reset and read in time proportional"
        " to what its steps change (docs/storage.md, Worktrees). `on`: for every fork a sandboxed"
        " process executor runs, where the machine can mount them; `off`: a git worktree for each"
        f" fork; `auto`: layered in repositories of {LAYERED_FILES:,} tracked files or more"
        f" ({said('workspace.layers')}). Only the project's policy file sets it.",
    )


class ExecutorRules(_Section):
    agent: str | None = Field(
        default=None,
        description="The agent profile that does the steps when the command line names no executor"
        " (`conductor agents` lists them). Only the project's policy file sets it.",
    )
    model: str | None = Field(default=None, description="The model for that agent, when --model names none.")


class LimitRules(_Section):
    memory: int | str | None = Field(
        default=None,
        description="Memory a process of a step may allocate: bytes or a size (512M, 8G; "
        f"{said('limits.memory')}).",
    )
    processes: int | None = Field(
        default=None,
        ge=1,
        description=f"Processes the user may run while a step runs ({said('limits.processes')}).",
    )
    file_size: int | str | None = Field(
        default=None,
        description=f"Largest file a step's process may write: bytes or a size ({said('limits.file_size')}).",
    )
    cpu_seconds: int | None = Field(
        default=None, ge=1, description=f"CPU time of one process of a step ({said('limits.cpu_seconds')})."
    )

    @field_validator("memory", "file_size")
    @classmethod
    def _size(cls, value: int | str | None) -> int | str | None:
        if value is not None:
            parse_size(value)
        return value


class ConventionRules(_Section):
    enabled: bool | None = Field(
        default=None,
        description="Give the planner and the model executor the repository's conventions (AGENTS.md"
        f" files; docs/conventions.md) and list them in each task ({said('conventions.enabled')})."
        " Only the project's policy file sets it.",
    )
    files: list[str] | None = Field(
        default=None,
        min_length=1,
        description="The convention file names looked for in each directory, the first one found"
        f" taken ({said('conventions.files')}). Only the project's policy file sets it.",
    )
    max_file_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Most bytes of one convention file quoted in a prompt; the rest is cut, and the"
        f" prompt and the task say so ({said('conventions.max_file_bytes')}). Only the project's"
        " policy file sets it.",
    )
    max_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Most bytes of conventions one prompt quotes, all files together"
        f" ({said('conventions.max_bytes')}). Only the project's policy file sets it.",
    )

    @field_validator("files")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            if not name.strip() or "/" in name or "\\" in name or name in (".", ".."):
                raise ValueError(f"'{name}' is not a file name (AGENTS.md, CLAUDE.md): no directories")
        return value


class SecretRules(_Section):
    env: list[str] | None = Field(
        default=None,
        description="Environment variables whose values are secrets, redacted wherever they "
        "appear — besides those recognized by their name or their format.",
    )


class PolicyFile(_Section):
    """A policy layer: the project file, or the `policy:` block of a plan or a step."""

    version: int | None = Field(default=None, ge=1, le=1, description="Policy format (1).")
    global_constraints: list[str] | None = Field(
        default=None,
        description="Rules in plain language, given to every executor and recorded.",
    )
    file_rules: FileRules | None = None
    behavior: Behavior | None = None
    verify: VerifyRules | None = None
    confidence: ConfidenceRules | None = None
    provenance: ProvenanceRules | None = None
    sandbox: SandboxRules | None = None
    secrets: SecretRules | None = None
    workspace: WorkspaceRules | None = None
    executor: ExecutorRules | None = None
    limits: LimitRules | None = None
    conventions: ConventionRules | None = None
