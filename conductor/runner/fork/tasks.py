"""The task file of one attempt, shaped from what the fork runner gathered: the planned step,
its effective policy, the confidence assessment, the steps before it, lessons, and why the
previous attempt failed. Pure: no ledger, no files (docs/protocol.md describes the result).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from conductor.engine.confidence import Assessment
from conductor.llm.conventions import Convention
from conductor.models.confidence import Confidence
from conductor.models.plan import StepSpec
from conductor.models.task import ConventionFile, PreviousStep, RepairContext, TaskContext, TaskFile
from conductor.policy.effective import EffectivePolicy
from conductor.secrets import Redactor

EVERYTHING = ["**"]
"""What a step without allowed_files may change (the protected patterns still apply)."""

MAX_REPAIR_EVIDENCE = 10

PREVIOUS_STEPS_LISTED = 10
"""Earlier steps a task lists in full (the last ones); the rest it counts (`earlier_steps`), so
a task — and the work of making it — stays the same size however long the fork is."""


def allowed_files(spec: StepSpec) -> list[str]:
    return list(spec.allowed_files) or EVERYTHING


def verify_commands(spec: StepSpec, policy: EffectivePolicy) -> list[str]:
    """The policy's verify commands, then the step's own (each once)."""
    return [*policy.verify_commands, *[c for c in spec.verify if c not in policy.verify_commands]]


def constraints(spec: StepSpec, policy: EffectivePolicy) -> list[str]:
    """Policy constraints, the step's, then the standard ones every task carries (the shell one
    unless the policy, the plan or the step allows shell commands)."""
    protected = ", ".join(p.text for p in policy.protected.patterns)
    shell = [] if policy.shell_commands else [NO_SHELL]
    return [
        *policy.global_constraints,
        *spec.constraints,
        "Do NOT modify files outside allowed_files",
        f"Do NOT modify protected files: {protected}",
        *shell,
    ]


NO_SHELL = "Do NOT run shell commands unless instructed"


def result_summary(raw: bytes | None) -> str:
    """The summary a filed result states ('' when there is none)."""
    if raw is None:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return ""
    return str(data.get("summary", "")) if isinstance(data, dict) else ""


def listed_previous(earlier: Sequence[str]) -> tuple[list[str], int]:
    """The earlier steps a task lists (the last PREVIOUS_STEPS_LISTED, in plan order) and how
    many before those it only counts."""
    listed = list(earlier[-PREVIOUS_STEPS_LISTED:]) if earlier else []
    return listed, len(earlier) - len(listed)


def previous_steps(
    titles: Mapping[str, str], statuses: Mapping[str, str], summaries: Mapping[str, str]
) -> list[PreviousStep]:
    """The listed steps before this one, in plan order (`titles` is ordered)."""
    return [
        PreviousStep(task_id=step, title=title, status=statuses[step], summary=summaries.get(step, ""))
        for step, title in titles.items()
    ]


def convention_files(found: Sequence[Convention]) -> list[ConventionFile]:
    """The conventions as the task lists them: path, digest, size and how much prompts quote."""
    return [ConventionFile(path=c.path, digest=c.digest, bytes=c.size, shown=c.shown) for c in found]


def repair_context(verdict: bytes | None, *, failed_attempt: int) -> RepairContext | None:
    """What the next attempt learns from the recorded verdict of the one that failed."""
    if verdict is None:
        return None
    data = json.loads(verdict)
    return RepairContext(
        attempt=failed_attempt,
        failure=data.get("failure", ""),
        reason=data.get("reason", ""),
        hint=data.get("hint", ""),
        evidence=[str(v) for v in data.get("evidence", [])][:MAX_REPAIR_EVIDENCE],
        rejected_diff=str(data.get("diffstat", "")),
    )


def build(
    step: str,
    attempt: int,
    *,
    spec: StepSpec,
    policy: EffectivePolicy,
    assessment: Assessment,
    context: TaskContext,
    workspace: str,
    redact: Redactor,
    verify: Sequence[str],
) -> TaskFile:
    """The sealed task (its checksum set); secrets in the step's text are redacted."""
    task = TaskFile(
        task_id=step,
        instruction=redact.text(spec.instruction),
        allowed_files=allowed_files(spec),
        constraints=[redact.text(c) for c in constraints(spec, policy)],
        timeout_seconds=spec.timeout_seconds or policy.timeout_seconds,
        confidence=Confidence(score=assessment.score),
        workspace=workspace,
        context=context,
        verify=list(verify),
        attempt=attempt,
    )
    return task.sealed()
