"""The mcp executor: the handoff executor for agents that speak the Model Context Protocol.
The task waits in the mailbox as for any handoff agent; an IDE agent or MCP client connected
to `conductor mcp` (docs/mcp.md) claims it and hands in its result through the server's tools,
which put it where a file agent would (conductor/desk.py). So the run waits, refuses, judges
and records exactly as for `--executor handoff`; only who it says it waits for differs."""

from __future__ import annotations

from typing import Any

from conductor.executors.base import Assignment
from conductor.executors.handoff import HandoffExecutor
from conductor.executors.registry import KINDS


class MCPExecutor(HandoffExecutor):
    name = "mcp"
    capabilities = KINDS[name].capabilities

    def identity(self) -> tuple[str, str]:
        return ("external agent (conductor mcp)", "mcp-executor@conductor.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name}

    @staticmethod
    def waits_for(assignment: Assignment) -> str:
        task = assignment.task
        return (
            f"an MCP client of `conductor mcp` to claim {task.context.plan_id}/{task.context.fork_id}"
            f" {assignment.step} attempt {task.attempt} and submit its result (tools claim_task and"
            " submit_result; a file agent may answer too, docs/protocol.md)"
        )
