"""The handoff executor: the task waits in the mailbox for an external agent (Antigravity,
Claude Code, Codex, Aider, a person) that follows .conductor/handoff/PROTOCOL.md."""

from __future__ import annotations

import json
from typing import Any

from conductor.executors.base import Assignment, Outcome, Waiting
from conductor.mailbox import PROTOCOL_FILE
from conductor.models.layout import PENDING, RESULT, TASK

POLL_SECONDS = 0.2
REMIND_SECONDS = 30.0


def result_attempt(raw: bytes) -> int | None:
    """The attempt a result file claims to be for, when it says so clearly."""
    try:
        value = json.loads(raw).get("attempt")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class HandoffExecutor:
    name = "handoff"

    def identity(self) -> tuple[str, str]:
        return ("external agent (conductor handoff)", "handoff-executor@conductor.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name}

    def execute(self, assignment: Assignment) -> Outcome:
        step, mailbox = assignment.step, assignment.mailbox
        claimed = assignment.claimed
        pending = mailbox.path(PENDING, step, TASK)
        assignment.say(
            f"{step}: waiting for an agent to claim {pending} and write {step}{RESULT} into"
            f" completed/ or failed/ ({assignment.timeout_note()}; protocol:"
            f" {mailbox.handoff / PROTOCOL_FILE})"
        )
        waiting = Waiting(assignment, poll_seconds=POLL_SECONDS, remind_seconds=REMIND_SECONDS)
        while True:
            if not claimed and not pending.exists() and mailbox.where_is_task(step) is not None:
                assignment.on_claim({"executor": self.name})
                claimed = True
                assignment.say(f"{step}: claimed by an agent")
            found = mailbox.find_result(step)
            if found is not None:
                attempt = result_attempt(found.result)
                if attempt is not None and attempt < assignment.task.attempt:
                    assignment.on_stale(found, attempt)
                    mailbox.drop_result(step)
                    continue
                if not claimed:
                    assignment.on_claim({"executor": self.name, "note": "result without a claim"})
                return Outcome.RESULT
            over = waiting.pause(claimed=claimed)
            if over is not None:
                return over
