"""The agent executor: a command executor that knows its agent (`--agent NAME`, docs/agents.md).

From its profile it knows the command line that passes the task (as a prompt: the brief), the
model flag and the variables --base-url sets, the variables it needs of Conductor's environment
(only those, with PATH, locale and proxy settings, reach it), a private home for each task with
the settings that skip first-run prompts (never the user's), its scratch files in the worktree
(never committed, never counted), and the output that means it failed though it exited 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError
from conductor.executors.base import Assignment
from conductor.executors.brief import brief
from conductor.executors.command import CommandExecutor
from conductor.executors.preflight import Where, check_command
from conductor.executors.profiles import Profile, fill
from conductor.executors.registry import KINDS
from conductor.sandbox.confinement import Launch, discard
from conductor.sandbox.environment import Allowlist

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
URL = re.compile(r"^https?://[^\s'\"\\`$]+$")
PROMPT_PREFACE = (
    "You are working in a git worktree that Conductor made for this task: change the files in the"
    " current directory to do it. Do not commit: Conductor checks the change and commits it.\n\n"
)


def check_model(model: str | None) -> str | None:
    if model is not None and not MODEL_NAME.match(model):
        raise ConductorError(
            f"'{model}' is not a model name an agent can be given",
            hint="letters, digits and . _ : / @ + - only, e.g. --model openai/gpt-5.5",
        )
    return model


def check_url(url: str | None) -> str | None:
    if url is not None and not URL.match(url):
        raise ConductorError(
            f"'{url}' is not an http(s) address", hint="e.g. --base-url http://localhost:4000/v1"
        )
    return url


class AgentExecutor(CommandExecutor):
    name = "agent"
    capabilities = KINDS[name].capabilities

    def __init__(self, profile: Profile, *, model: str | None = None, base_url: str | None = None) -> None:
        self.profile = profile
        self.model = check_model(model) or profile.spec.model
        self.base_url = check_url(base_url)
        spec = profile.spec
        # without --base-url, an address the user set in one of its variables counts as given
        address = self.base_url or next(
            (os.environ[name] for name in spec.base_url_env if URL.match(os.environ.get(name, ""))), None
        )
        values = {"model": self.model or "", "base_url": address or ""}
        values.update(prompt_file='"$CONDUCTOR_PROMPT_FILE"', workspace='"$CONDUCTOR_WORKSPACE"')
        values["model_args"] = fill(spec.model_args, values) if self.model else ""
        values["base_url_args"] = fill(spec.base_url_args, values) if address else ""
        super().__init__(fill(spec.command, values).strip())
        self.scratch = tuple(spec.scratch)
        self.inherit = tuple(spec.env)
        self.network_hosts = (*spec.network, *([address] if address else []))
        self._fails = [re.compile(pattern) for pattern in spec.fails_when]

    def identity(self) -> tuple[str, str]:
        return (
            f"{self.profile.name} (conductor agent profile)",
            f"{self.profile.name}@agents.conductor.invalid",
        )

    def settings(self) -> dict[str, Any]:
        return {
            "executor": self.name,
            "agent": self.profile.name,
            "model": self.model,
            "base_url": self.base_url,
        }

    def preflight(self, where: Where) -> None:
        check_command(self.command, where, install=self.profile.spec.install)

    def fixed_env(self) -> dict[str, str]:
        """The profile's fixed values, and the API address --base-url gives."""
        spec = self.profile.spec
        env = dict(spec.set_env)
        if self.base_url:
            env.update({name: self.base_url for name in spec.base_url_env})
        return env

    def environment(self, environ: Mapping[str, str]) -> dict[str, str]:
        """What the agent gets of `environ` (the allowlist and its own variables) and its fixed
        values — without the policy's sandbox.env (for running it outside a step: the bench)."""
        return {**Allowlist(extra=self.inherit).apply(environ), **self.fixed_env()}

    @contextlib.contextmanager
    def private_files(self, assignment: Assignment, prepared: Launch) -> Iterator[dict[str, str]]:
        """A home of its own for the run (with the profile's settings) and the prompt file: in
        the sandbox's private directory, or (without the sandbox) a temporary one."""
        own = None if prepared.scratch is not None else Path(tempfile.mkdtemp(prefix="conductor-agent-"))
        place = prepared.scratch or own
        assert place is not None
        try:
            home = place / "home"
            values = {"workspace": str(assignment.workspace), "model": self.model or ""}
            for relative, content in self.profile.spec.home.items():
                target = home / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(
                    content.replace("{workspace}", values["workspace"]).replace("{model}", values["model"])
                )
            for sub in (".config", ".cache", ".local/share", ".local/state", "tmp"):
                (home / sub).mkdir(parents=True, exist_ok=True)
            prompt = place / "prompt.md"
            prompt.write_bytes(self.stdin(assignment))
            yield {
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_CACHE_HOME": str(home / ".cache"),
                "XDG_DATA_HOME": str(home / ".local/share"),
                "XDG_STATE_HOME": str(home / ".local/state"),
                "TMPDIR": prepared.env.get("TMPDIR", str(home / "tmp")),
                "CONDUCTOR_PROMPT_FILE": str(prompt),
            }
        finally:
            if own is not None:
                discard(own)

    def stdin(self, assignment: Assignment) -> bytes:
        """The prompt: the task as a brief (also in the file {prompt_file} names)."""
        return (PROMPT_PREFACE + brief(assignment.task) + "\n").encode("utf-8")

    def quiet_failure(self, code: int, output: Mapping[str, str]) -> str | None:
        if code != 0:
            return None
        for pattern in self._fails:
            for name in ("stdout", "stderr"):
                found = pattern.search(output.get(name, ""))
                if found is not None:
                    line = (
                        found.group(0).strip().splitlines()[0][:200]
                        if found.group(0).strip()
                        else pattern.pattern
                    )
                    return f"its output says it failed ({name}: {line})"
        return None
