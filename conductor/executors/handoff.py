"""The handoff executor: the task waits in the mailbox for an external agent (Antigravity,
Claude Code, Codex, Aider, a person) that follows .conductor/handoff/PROTOCOL.md.

It says what it waits for — the result file's path, the task's, the deadline — once, and
again every REMIND_SECONDS. A malformed result for the current attempt is refused with every
problem at once (set aside as `….result.json.rejected-N`, the problems written beside it in
`….result.problems.txt`), and the attempt goes on: the agent's work stays in the workspace and
a corrected result is taken until the deadline. A result for an older attempt is set aside
as `….stale-N` and refused."""

from __future__ import annotations

import time
from typing import Any

from conductor import desk
from conductor.executors.base import Assignment, Outcome, Waiting
from conductor.executors.preflight import Where
from conductor.executors.registry import KINDS
from conductor.mailbox import PROTOCOL_FILE, Found
from conductor.models.layout import COMPLETED, FAILED, PENDING, RESULT, TASK

POLL_SECONDS = 0.2
REMIND_SECONDS = 30.0
SETTLE_SECONDS = 1.0  # a malformed result is refused once it has not changed for this long
MAX_REFUSALS = 10
"""Malformed results refused within one attempt; the next one is taken as the attempt's result
and fails it as an invalid result (every problem listed), so an agent that keeps writing bad
files cannot fill the ledger until the deadline."""


def span(seconds: float) -> str:
    """A duration as a person reads it: `45s`, `4m 30s`, `29m`, `1h 5m`."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def deadline_note(assignment: Assignment) -> str:
    """`deadline in 4m 30s (at 10:55:00 UTC)`."""
    at = time.strftime("%H:%M:%S UTC", time.gmtime(assignment.deadline))
    return f"deadline in {span(assignment.remaining())} (at {at}; {assignment.timeout_note()})"


class HandoffExecutor:
    name = "handoff"
    capabilities = KINDS[name].capabilities
    scratch: tuple[str, ...] = ()
    network_hosts: tuple[str, ...] = ()

    def identity(self) -> tuple[str, str]:
        return ("external agent (conductor handoff)", "handoff-executor@conductor.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name}

    def preflight(self, where: Where) -> None:
        """Nothing starts here: the agent outside Conductor starts itself, and reads the task."""

    def execute(self, assignment: Assignment) -> Outcome:
        step, mailbox = assignment.step, assignment.mailbox
        claimed = assignment.claimed
        pending = mailbox.path(PENDING, step, TASK)
        if assignment.remaining() > 0:
            assignment.say(self._waiting(assignment, claimed, first=True))
        else:  # a resume after the deadline (or a setup that long): a result written meanwhile counts
            at = time.strftime("%H:%M:%S UTC", time.gmtime(assignment.deadline))
            result = mailbox.path(COMPLETED, step, RESULT)
            assignment.say(
                f"{step}: the deadline of attempt {assignment.task.attempt} passed at {at}, before this run"
                f" began to wait (Conductor was stopped); looking once for {result}"
            )
        waiting = Waiting(
            assignment,
            poll_seconds=POLL_SECONDS,
            remind_seconds=REMIND_SECONDS,
            reminder=lambda claimed: self._waiting(assignment, claimed, first=False),
        )
        suspect: tuple[bytes, float] | None = None  # a malformed result, and since when it is so
        refusals = 0
        while True:
            if not claimed and not pending.exists() and mailbox.where_is_task(step) is not None:
                assignment.on_claim({"executor": self.name})
                claimed = True
                assignment.say(f"{step}: claimed by an agent")
            found = mailbox.find_result(step, limit=assignment.result_limit)
            if found is not None:
                attempt = desk.result_attempt(found.result)
                if attempt is not None and attempt < assignment.task.attempt:
                    kept = mailbox.set_aside(step, found, "stale", explanation=True)
                    if kept is not None:
                        assignment.on_stale(kept, attempt)
                    continue
                if not claimed:  # claiming is optional (docs/protocol.md): the result claims
                    assignment.on_claim({"executor": self.name, "note": "result without a claim"})
                    claimed = True
                    assignment.say(
                        f"{step}: a result without a claim (claiming is optional): taken as the claim"
                    )
                wrong = desk.problems(found, step, assignment.task.attempt)
                if not wrong:
                    return Outcome.RESULT
                # refused once it stays as it is for a moment: an agent may be writing it in place
                if suspect is None or suspect[0] != found.result:
                    suspect = (found.result, time.monotonic())
                elif time.monotonic() - suspect[1] >= SETTLE_SECONDS:
                    if refusals >= MAX_REFUSALS:
                        return Outcome.RESULT  # judged like any result: the attempt fails on it
                    suspect = None
                    refused = mailbox.set_aside(step, found, "rejected")
                    if refused is not None:
                        refusals += 1
                        assignment.on_invalid(refused, wrong)
                        mailbox.write_problems(
                            step, found.directory, self._explain(assignment, refused, wrong)
                        )
            over = waiting.pause(claimed=claimed)
            if over is not None:
                return over

    def _waiting(self, assignment: Assignment, claimed: bool, *, first: bool) -> str:
        state = "" if first else ("still " + ("claimed, " if claimed else "not claimed, "))
        waits = self.waits_for(assignment)
        return f"{assignment.step}: {state}waiting for {waits}; {deadline_note(assignment)}"

    @staticmethod
    def waits_for(assignment: Assignment) -> str:
        """Who it waits for, to do what, and where to read how."""
        step, mailbox = assignment.step, assignment.mailbox
        task = mailbox.where_is_task(step) or mailbox.path(PENDING, step, TASK)
        result = mailbox.path(COMPLETED, step, RESULT)
        return (
            f"an agent to write {result} (or failed/{step}{RESULT}) for {step} attempt"
            f" {assignment.task.attempt} (task: {task}; protocol: {mailbox.handoff / PROTOCOL_FILE})"
        )

    @staticmethod
    def _explain(assignment: Assignment, refused: Found, problems: list[str]) -> str:
        """The problems file: what was wrong, where the file went, what to do now."""
        step, attempt = assignment.step, assignment.task.attempt
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = [
            f"Conductor refused {refused.name(step)} for {step} attempt {attempt}: {count}.",
            "",
            *(f"- {problem}" for problem in problems),
            "",
            f"The refused file is kept as {refused.kept_as}. The attempt goes on and your changes",
            f"in the workspace are kept: write a corrected {step}{RESULT} into {COMPLETED}/ (or {FAILED}/)",
            "the same way, to a temporary name and renamed (schema: `conductor schema result`).",
            f"Conductor takes it until the {deadline_note(assignment)}.",
        ]
        return "\n".join(lines) + "\n"
