"""What a verdict leaves in the record, shaped without I/O: the verdict record of an accepted or
a failed attempt, the code commit's message with its `Conductor-*` trailers, the verify
logs, and the facts the provenance statement states (docs/storage.md, docs/provenance.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conductor.checks.diff import Violation
from conductor.checks.evidence import CommandEvidence
from conductor.engine.failures import FailureKind, describe
from conductor.models import untrusted
from conductor.models.event import EventType
from conductor.models.layout import COMPLETED, HANDED, AttemptPaths, StepPaths
from conductor.models.paths import escape_reason
from conductor.models.task import TaskFile
from conductor.provenance.statement import StepFacts

ACCEPTANCE_CHECKS = ["task checksum", "attempt", "paths", "protected patterns", "size", "verify commands"]
FAILURE_EVENTS = {
    FailureKind.TIMEOUT: EventType.TASK_TIMED_OUT,
    FailureKind.EXECUTOR_FAILED: EventType.TASK_FAILED,
    FailureKind.INTERRUPTED: EventType.TASK_FAILED,
    FailureKind.NOT_STARTED: EventType.TASK_FAILED,
}


def dumps(data: Any) -> str:
    """A record as the ledger keeps it: indented, sorted, UTF-8, one final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """The facts of an attempt's change that its verdict records."""

    files: list[str]
    lines: int
    diffstat: str


def accepted_verdict(
    step: str,
    attempt: int,
    change: Change,
    commands: Sequence[CommandEvidence],
    *,
    checkout: Sequence[str] = (),
) -> str:
    """The verdict of an accepted attempt (`checkout`: files of the user's checkout that changed
    while it ran, without a sandbox: reported, not judged)."""
    verdict = {
        "step": step,
        "attempt": attempt,
        "accepted": True,
        "checks": ACCEPTANCE_CHECKS,
        "files": change.files,
        "lines": change.lines,
        "diffstat": change.diffstat,
        "commands": [c.to_json() for c in commands],
    }
    return dumps({**verdict, "checkout_changed": list(checkout)} if checkout else verdict)


def failed_verdict(
    step: str,
    attempt: int,
    kind: FailureKind,
    reason: str,
    *,
    violations: Sequence[Violation] = (),
    evidence: Sequence[str] | None = None,
    diffstat: str = "",
    commands: Sequence[CommandEvidence] = (),
    hint: str | None = None,
    checkout: Sequence[str] = (),
) -> str:
    """The verdict of a rejected or failed attempt: the seed's failure name, cause and recovery
    (`hint`, when the check knows better than the failure kind's general advice)."""
    info = describe(kind)
    extra = {"checkout_changed": list(checkout)} if checkout else {}
    return dumps(
        {
            **extra,
            "step": step,
            "attempt": attempt,
            "accepted": False,
            "kind": kind.value,
            "failure": info.name,
            "cause": info.cause,
            "reason": reason,
            "hint": hint or info.recovery,
            "violations": [v.to_json() for v in violations],
            "evidence": list(evidence) if evidence is not None else [str(v) for v in violations],
            "diffstat": diffstat,
            "commands": [c.to_json() for c in commands],
        }
    )


AUDITED_VIOLATIONS = 100
"""The most violations a rejection's event lists (the verdict record keeps them all)."""


def audited_violations(violations: Sequence[Violation]) -> dict[str, Any]:
    """What a rejection's event (and so audit.log) says of its violations: each one — path,
    kind and detail — up to AUDITED_VIOLATIONS, and how many there were."""
    listed: dict[str, Any] = {"violations": [v.to_json() for v in violations[:AUDITED_VIOLATIONS]]}
    if len(violations) > AUDITED_VIOLATIONS:
        listed["violations_total"] = len(violations)
    return listed


def command_verdicts(commands: Sequence[CommandEvidence]) -> list[dict[str, Any]]:
    """Each verify command's verdict, for the attempt's event: command, exit code, timed out,
    seconds and the digest of its output (the output itself is evidence in the fork log)."""
    return [c.to_json() for c in commands]


def failure_event(kind: FailureKind) -> EventType:
    """task.timed_out, task.failed (the executor gave up, or Conductor stopped) or task.rejected."""
    return FAILURE_EVENTS.get(kind, EventType.TASK_REJECTED)


def verify_logs(paths: AttemptPaths, commands: Sequence[CommandEvidence]) -> dict[str, str]:
    """Each verify command's output, as evidence of the attempt."""
    return {paths.verify_log(i + 1): f"$ {c.command}\n{c.output}" for i, c in enumerate(commands)}


def commit_message(
    *,
    title: str,
    summary: str,
    plan: str,
    fork: str,
    task: TaskFile,
    evidence_digest: str,
    explanation: str = "",
) -> str:
    """The step's commit message: the title and the result's summary each on one line, the
    explanation's first paragraph (why, for a reviewer: bounded, wrapped), no line of them
    starting like a trailer, then the trailers docs/storage.md lists (provenance is added by
    attest, after them: the statement names the message without it)."""
    confidence = task.confidence
    why = wrapped(first_paragraph(explanation))
    return (
        f"{_unlike_trailer(_one_line(title))}\n\n{_unlike_trailer(_one_line(summary))}\n\n"
        + (f"{why}\n\n" if why else "")
        + f"Conductor-Plan: {plan}\n"
        f"Conductor-Fork: {fork}\n"
        f"Conductor-Step: {task.task_id}\n"
        f"Conductor-Attempt: {task.attempt}\n"
        f"Conductor-Confidence: {confidence.score:.2f} {confidence.level.value}\n"
        f"Conductor-Evidence: {evidence_digest}\n"
    )


def _one_line(text: str) -> str:
    """Text as one line: whitespace runs to one space, other control characters dropped."""
    return "".join(c for c in " ".join(text.split()) if c.isprintable())


PARAGRAPH_CHARS = 400
"""The most of an explanation's first paragraph a step commit (and a squash) carries."""


def first_paragraph(explanation: str, *, limit: int = PARAGRAPH_CHARS) -> str:
    """The first paragraph of an explanation (Markdown) that is not a heading or a rule, as one
    line of at most `limit` characters; "" when it has none."""
    for block in re.split(r"\n[ \t]*\n", explanation.replace("\r\n", "\n")):
        lines = [line for line in block.strip().splitlines() if not _decoration(line)]
        text = _one_line(" ".join(lines))
        if text:
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return ""


def _decoration(line: str) -> bool:
    """A Markdown heading or thematic break: no part of what the paragraph says."""
    stripped = line.strip()
    return stripped.startswith("#") or bool(re.fullmatch(r"([-*_])(\s*\1){2,}", stripped))


def wrapped(text: str, *, indent: str = "") -> str:
    """One line of text as a commit body's paragraph: 72 columns, no line that reads as a trailer."""
    lines = textwrap.wrap(
        text,
        width=72,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(_unlike_trailer(line) for line in lines)


def _unlike_trailer(line: str) -> str:
    """A line of a step's own words that starts as Conductor's trailers do gets a space first:
    `verify` and `strip_trailer` read every `Conductor-…: ` line as one."""
    return f" {line}" if line.startswith("Conductor-") else line


def commit_author(executor: tuple[str, str], agent: str | None) -> tuple[str, str]:
    """The executor's identity, named after the agent when the result names one."""
    return (agent, executor[1]) if agent else executor


def filed_records(step: str, in_progress: Mapping[str, bytes | None]) -> dict[str, bytes]:
    """The task, result and explanation as they will be filed under completed/."""
    paths = StepPaths(step)
    return {paths.record(COMPLETED, suffix): in_progress.get(suffix) or b"" for suffix in HANDED}


@dataclass(frozen=True)
class Attribution:
    """Who did the step and what it cost, for the statement."""

    executor_kind: str
    author: tuple[str, str]
    model: str | None
    tokens: Mapping[str, int]


def statement_facts(
    *,
    plan: str,
    fork: str,
    task: TaskFile,
    records: dict[str, bytes],
    payload: bytes,
    tree: str,
    parent: str,
    policy: bytes,
    evidence: dict[str, bytes],
    who: Attribution,
    times: dict[str, str],
    version: str,
) -> StepFacts:
    return StepFacts(
        plan=plan,
        fork=fork,
        step=task.task_id,
        attempt=task.attempt,
        records=records,
        commit_payload=payload,
        tree=tree,
        parent=parent,
        task_checksum=task.checksum,
        policy=policy,
        evidence=evidence,
        executor={"kind": who.executor_kind, "name": who.author[0], "email": who.author[1]},
        model={"name": who.model, "tokens": dict(who.tokens)} if who.model else None,
        confidence={"score": task.confidence.score, "level": task.confidence.level.value},
        times=times,
        conductor_version=version,
    )


def reported_usage(raw: bytes) -> dict[str, Any]:
    """Tokens and cost a result reports, for the metrics (the result is validated later; one
    that cannot be read reports none)."""
    try:
        data = untrusted.load_object(raw, name="result")
    except untrusted.UntrustedError:
        return {}
    found: dict[str, Any] = {}
    tokens = data.get("tokens")
    if isinstance(tokens, dict):  # counts only: a bool is an int to Python, not to the metrics
        found["tokens"] = {
            k: v for k, v in tokens.items() if k in ("input", "output") and type(v) is int and v >= 0
        }
    cost = data.get("cost")
    if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
        found["cost"] = cost
    return found


def reported_paths(raw: bytes) -> list[str]:
    """The safe paths a result lists as changed: more candidates for the watcher."""
    try:
        listed = untrusted.load_object(raw, name="result").get("files_changed", [])
    except untrusted.UntrustedError:
        return []
    if not isinstance(listed, list):
        return []
    return [p for p in listed if isinstance(p, str) and escape_reason(p) is None]
