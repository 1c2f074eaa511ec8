"""Making an executor from command-line options or from the settings a plan recorded."""

from __future__ import annotations

from typing import Any

from conductor.errors import ConductorError
from conductor.executors.base import Executor
from conductor.executors.command import CommandExecutor
from conductor.executors.handoff import HandoffExecutor

NAMES = ("handoff", "command")


def make(name: str | None, *, command: str | None) -> Executor:
    """`--executor NAME` / `--exec CMD`: --exec alone means the command executor."""
    chosen = name or ("command" if command else "handoff")
    if chosen == "command":
        if not command:
            raise ConductorError(
                "the command executor needs a command",
                hint='give it with --exec, e.g. --exec "aider --yes-always --message-file -"',
            )
        return CommandExecutor(command)
    if chosen == "handoff":
        if command:
            raise ConductorError("--exec is for the command executor; drop it or use --executor command")
        return HandoffExecutor()
    raise ConductorError(f"unknown executor '{chosen}' (known: {', '.join(NAMES)})")


def from_settings(settings: dict[str, Any], *, command: str | None = None) -> Executor:
    """The executor a plan was started with (a new --exec overrides the recorded command)."""
    name = str(settings.get("executor") or "handoff")
    return make(name, command=command or settings.get("exec"))
