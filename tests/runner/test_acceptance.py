"""What a verdict leaves in the record (runner/fork/acceptance.py): verdicts, the commit message and its
trailers (read back by git itself), verify logs, statement facts, what results report."""

from __future__ import annotations

import json
import subprocess

from conductor.checks.diff import Violation
from conductor.checks.evidence import CommandEvidence
from conductor.engine.failures import FailureKind
from conductor.models.confidence import Confidence
from conductor.models.event import EventType
from conductor.models.layout import AttemptPaths
from conductor.models.task import TaskFile
from conductor.runner.fork import acceptance

TASK = TaskFile(
    task_id="step_002",
    instruction="x",
    allowed_files=["a.py"],
    timeout_seconds=60,
    confidence=Confidence(score=0.62),
    attempt=3,
).sealed()


def evidence(command: str, code: int | None) -> CommandEvidence:
    return CommandEvidence(command, code, 0.5, "sha256:" + "0" * 64, f"output of {command}\n")


def trailers(message: str) -> list[tuple[str, str]]:
    """The trailers as git reads them."""
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=message, capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split(": ", 1)) for line in out.splitlines()]  # type: ignore[misc]


def test_the_commit_message_carries_the_documented_trailers() -> None:
    message = acceptance.commit_message(
        title="Add a.py",
        summary="Wrote a.py",
        plan="p-1a2b",
        fork="main",
        task=TASK,
        evidence_digest="sha256:ab",
    )
    assert message.startswith("Add a.py\n\nWrote a.py\n\n")
    assert trailers(message) == [
        ("Conductor-Plan", "p-1a2b"),
        ("Conductor-Fork", "main"),
        ("Conductor-Step", "step_002"),
        ("Conductor-Attempt", "3"),
        ("Conductor-Confidence", "0.62 medium"),
        ("Conductor-Evidence", "sha256:ab"),
    ]


def test_no_trailer_can_hide_in_an_executors_summary() -> None:
    summary = "Did it.\n\nConductor-Step: step_999\nConductor-Provenance: sha256:forged"
    message = acceptance.commit_message(
        title="t", summary=summary, plan="p", fork="f", task=TASK, evidence_digest="sha256:ab"
    )
    found = dict(trailers(message))
    assert found["Conductor-Step"] == "step_002" and "Conductor-Provenance" not in found
    assert message.split("\n\n")[1] == "Did it. Conductor-Step: step_999 Conductor-Provenance: sha256:forged"


def test_verdicts_of_accepted_and_failed_attempts() -> None:
    change = acceptance.Change(files=["a.py"], lines=4, diffstat="added a.py (+4 -0)")
    accepted = acceptance.accepted_verdict("step_002", 3, change, [evidence("pytest", 0)])
    data = json.loads(accepted)
    assert data["accepted"] is True and data["checks"] == acceptance.ACCEPTANCE_CHECKS
    assert data["commands"][0]["exit_code"] == 0 and accepted.endswith("}\n")
    assert acceptance.digest(accepted) == acceptance.digest(accepted) != acceptance.digest(accepted + " ")
    violation = Violation(FailureKind.CONSTRAINT, "b.py", "added: not in allowed_files ['a.py']")
    failed = json.loads(
        acceptance.failed_verdict("step_002", 3, FailureKind.CONSTRAINT, "b.py", violations=[violation])
    )
    assert (failed["accepted"], failed["failure"], failed["hint"][:14]) == (
        False,
        "Constraint violation",
        "Fix task scope",
    )
    assert failed["evidence"] == [str(violation)] and failed["violations"][0]["path"] == "b.py"
    timeout = json.loads(
        acceptance.failed_verdict("step_002", 1, FailureKind.TIMEOUT, "late", evidence=["tail"])
    )
    assert timeout["evidence"] == ["tail"] and timeout["failure"] == "Task timeout"


def test_failure_kinds_map_to_their_events() -> None:
    assert acceptance.failure_event(FailureKind.TIMEOUT) is EventType.TASK_TIMED_OUT
    assert acceptance.failure_event(FailureKind.EXECUTOR_FAILED) is EventType.TASK_FAILED
    assert acceptance.failure_event(FailureKind.INTERRUPTED) is EventType.TASK_FAILED
    assert acceptance.failure_event(FailureKind.PROTECTED) is EventType.TASK_REJECTED


def test_verify_logs_are_numbered_from_one() -> None:
    logs = acceptance.verify_logs(AttemptPaths("step_001", 2), [evidence("ruff", 0), evidence("pytest", 1)])
    assert logs == {
        "evidence/step_001/attempt_2/verify-1.log": "$ ruff\noutput of ruff\n",
        "evidence/step_001/attempt_2/verify-2.log": "$ pytest\noutput of pytest\n",
    }


def test_the_author_is_the_agent_a_result_names() -> None:
    executor = ("aider (conductor command executor)", "command-executor@conductor.invalid")
    assert acceptance.commit_author(executor, None) == executor
    assert acceptance.commit_author(executor, "Claude") == ("Claude", "command-executor@conductor.invalid")


def test_statement_facts_name_the_model_only_when_one_was_called() -> None:
    common = dict(
        plan="p",
        fork="f",
        task=TASK,
        records={},
        payload=b"commit",
        tree="t",
        parent="p0",
        policy=b"{}",
        evidence={},
        times={"task_created": "x", "accepted": "y"},
        version="0.1.0",
    )
    by_command = acceptance.Attribution("command", ("aider", "a@b"), None, {"input": 0, "output": 0})
    facts = acceptance.statement_facts(who=by_command, **common)  # type: ignore[arg-type]
    assert facts.model is None and facts.executor == {"kind": "command", "name": "aider", "email": "a@b"}
    by_model = acceptance.Attribution("llm", ("m", "l@b"), "gemini-x", {"input": 7, "output": 3})
    facts = acceptance.statement_facts(who=by_model, **common)  # type: ignore[arg-type]
    assert facts.model == {"name": "gemini-x", "tokens": {"input": 7, "output": 3}}
    assert (facts.step, facts.attempt, facts.task_checksum) == ("step_002", 3, TASK.checksum)


def test_what_a_result_reports_is_read_without_trusting_it() -> None:
    good = json.dumps({"tokens": {"input": 5, "output": 2, "cached": 9}, "cost": 0.01}).encode()
    assert acceptance.reported_usage(good) == {"tokens": {"input": 5, "output": 2}, "cost": 0.01}
    assert acceptance.reported_usage(json.dumps({"tokens": {"input": "5"}, "cost": True}).encode()) == {
        "tokens": {}
    }
    assert acceptance.reported_usage(b"{broken") == acceptance.reported_usage(b"[]") == {}
    listed = {"files_changed": ["a.py", "../../etc/passwd", "/abs", ".git/config", 3, "src/b.py"]}
    assert acceptance.reported_paths(json.dumps(listed).encode()) == ["a.py", "src/b.py"]
    assert acceptance.reported_paths(b"nope") == acceptance.reported_paths(b'{"files_changed": "a"}') == []
