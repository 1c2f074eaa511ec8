"""Failure kinds, with their names and recovery hints (docs/protocol.md lists them).

Every rejected or failed attempt is recorded with one of these kinds; `conductor explain`
and the audit log show its name, the cause and the recovery.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    TIMEOUT = "task_timeout"
    CONSTRAINT = "constraint_violation"
    PROTECTED = "protected_file"
    DIFF_TOO_LARGE = "diff_too_large"
    CHECKSUM = "checksum_mismatch"
    STALE = "stale_attempt"
    INVALID_RESULT = "invalid_result"
    VERIFY_FAILED = "verify_failed"
    EXECUTOR_FAILED = "executor_failed"
    NOT_STARTED = "executor_not_started"
    NO_CHANGE = "no_change"
    LOW_CONFIDENCE = "low_confidence"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class FailureInfo:
    name: str  # as users read it: 'Constraint violation', 'Task timeout'…
    cause: str
    recovery: str


FAILURES: dict[FailureKind, FailureInfo] = {
    FailureKind.TIMEOUT: FailureInfo(
        "Task timeout", "Execution too slow", "Increase `timeout_seconds` (policy behavior or the step)"
    ),
    FailureKind.CONSTRAINT: FailureInfo(
        "Constraint violation", "Outside allowed_files", "Fix task scope (allowed_files) or the change"
    ),
    FailureKind.PROTECTED: FailureInfo(
        "Constraint violation",
        "Touches a protected file",
        "Fix task scope: leave protected files alone, or change the policy in a reviewed commit",
    ),
    FailureKind.DIFF_TOO_LARGE: FailureInfo(
        "Constraint violation",
        "Diff larger than max_diff_lines",
        "Split the step, or raise `behavior.max_diff_lines`",
    ),
    FailureKind.CHECKSUM: FailureInfo(
        "Checksum mismatch", "Task tampered", "Re-create from source (the ledger keeps the original task)"
    ),
    FailureKind.STALE: FailureInfo(
        "Stale result",
        "Result for an attempt that is no longer current",
        "Nothing to do: work on the current attempt's task file",
    ),
    FailureKind.INVALID_RESULT: FailureInfo(
        "Invalid result",
        "Result file is not valid JSON or not the schema",
        "Write a result file that matches `conductor schema result`",
    ),
    FailureKind.VERIFY_FAILED: FailureInfo(
        "Verification failed", "A verify command failed", "Fix the change so every verify command passes"
    ),
    FailureKind.EXECUTOR_FAILED: FailureInfo(
        "Executor failed", "The executor reported failure", "Read the explanation; clarify the instruction"
    ),
    FailureKind.NOT_STARTED: FailureInfo(
        "Executor could not start",
        "Its program was not found, or its script is not where the command runs",
        "Fix the command — install the program; commit the script, or keep it outside the repository"
        " (the command runs in the fork's worktree, and the sandbox hides your checkout) — then"
        " `conductor resume PLAN` (`--exec CMD` or `--agent NAME` to change it). Not retried as it is,"
        " and not counted against max_attempts",
    ),
    FailureKind.NO_CHANGE: FailureInfo(
        "No change",
        "The executor changed nothing",
        "Read its explanation and output: an agent that fails quietly (no model, edits refused) changes"
        " nothing and exits 0. If the step needs no change, give it allow_empty: true in the plan",
    ),
    FailureKind.LOW_CONFIDENCE: FailureInfo(
        "Low confidence", "Novel task pattern", "Add historical context, or approve the step to run it anyway"
    ),
    FailureKind.INTERRUPTED: FailureInfo(
        "Interrupted",
        "Conductor stopped while the step ran",
        "None needed: the step runs again (interruptions do not count against max_attempts)",
    ),
}


def describe(kind: FailureKind) -> FailureInfo:
    return FAILURES[kind]
