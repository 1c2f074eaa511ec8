"""Shaping a task file (runner/fork/tasks.py): constraints, verify commands, context, redaction."""

from __future__ import annotations

import hashlib
import json

from conductor.checks.diff import Violation
from conductor.engine.confidence import History, assess
from conductor.engine.failures import FailureKind
from conductor.llm.conventions import Convention
from conductor.models.plan import StepSpec
from conductor.models.policy import PolicyFile
from conductor.models.task import TaskContext, TaskFile
from conductor.policy.effective import EffectivePolicy, PolicyLayer
from conductor.runner.fork import acceptance, tasks
from conductor.secrets import Redactor


def policy(**values: object) -> EffectivePolicy:
    return EffectivePolicy.merge(PolicyLayer("project", PolicyFile.model_validate(values)))


def step(**values: object) -> StepSpec:
    return StepSpec.model_validate({"title": "Write a.py", "instruction": "Write a.py", **values})


def test_constraints_come_from_the_policy_the_step_and_the_standard_ones() -> None:
    effective = policy(
        global_constraints=["Keep it small"], file_rules={"protected_patterns": ["*.lock", "migrations/*"]}
    )
    found = tasks.constraints(step(constraints=["Use pathlib"]), effective)
    assert found == [
        "Keep it small",
        "Use pathlib",
        "Do NOT modify files outside allowed_files",
        "Do NOT modify protected files: .conductor/, .git/, *.lock, migrations/*",
        "Do NOT run shell commands unless instructed",
    ]
    # a policy (the project's, a plan's or a step's) may allow them
    allowed = policy(behavior={"shell_commands": True})
    assert "Do NOT run shell commands unless instructed" not in tasks.constraints(step(), allowed)


def test_verify_commands_are_the_policys_then_the_steps_each_once() -> None:
    effective = policy(verify={"commands": ["pytest -q"]})
    assert tasks.verify_commands(step(verify=["ruff check", "pytest -q"]), effective) == [
        "pytest -q",
        "ruff check",
    ]


def test_a_step_without_allowed_files_may_change_everything_not_protected() -> None:
    assert tasks.allowed_files(step()) == ["**"]
    assert tasks.allowed_files(step(allowed_files=["src/**"])) == ["src/**"]


def test_the_repair_context_is_read_from_the_failed_attempts_verdict() -> None:
    violations = [Violation(FailureKind.PROTECTED, f"f{i}.lock", "protected by '*.lock'") for i in range(12)]
    verdict = acceptance.failed_verdict(
        "step_001",
        1,
        FailureKind.PROTECTED,
        "f0.lock: protected",
        violations=violations,
        diffstat="added f0.lock",
    )
    repair = tasks.repair_context(verdict.encode(), failed_attempt=1)
    assert repair is not None
    assert (repair.attempt, repair.failure, repair.reason) == (
        1,
        "Constraint violation",
        "f0.lock: protected",
    )
    assert repair.hint.startswith("Fix task scope") and repair.rejected_diff == "added f0.lock"
    assert len(repair.evidence) == tasks.MAX_REPAIR_EVIDENCE and repair.evidence[0].startswith("f0.lock")
    assert tasks.repair_context(None, failed_attempt=1) is None


def test_a_result_summary_is_read_leniently() -> None:
    assert tasks.result_summary(json.dumps({"summary": "did it"}).encode()) == "did it"
    assert (
        tasks.result_summary(b"not json") == tasks.result_summary(b"[1]") == tasks.result_summary(None) == ""
    )


def test_previous_steps_keep_the_plan_order() -> None:
    found = tasks.previous_steps(
        titles={"step_001": "One", "step_002": "Two"},
        statuses={"step_001": "completed", "step_002": "failed"},
        summaries={"step_001": "made one"},
    )
    assert [(p.task_id, p.title, p.status, p.summary) for p in found] == [
        ("step_001", "One", "completed", "made one"),
        ("step_002", "Two", "failed", ""),
    ]


def test_the_task_is_sealed_redacted_and_timed_by_the_step_or_the_policy() -> None:
    secret = "sk-live-0123456789abcdef"
    effective = policy(behavior={"timeout_seconds": 120}, global_constraints=[f"token {secret}"])
    spec = step(instruction=f"Call the API with {secret}", allowed_files=["a.py"])
    assessment = assess(
        allowed_files=["a.py"], verify=[], history=History("a.py"), max_diff_lines=500, expected_lines=None
    )
    task = tasks.build(
        "step_002",
        3,
        spec=spec,
        policy=effective,
        assessment=assessment,
        context=TaskContext(goal="g", fork_id="main"),
        workspace="/tmp/worktree",
        redact=Redactor({"API_KEY": secret}),
        verify=["pytest"],
    )
    text = task.to_json()
    assert secret not in text and "[redacted:$API_KEY]" in task.instruction
    assert task.checksum == task.canonical_digest() == TaskFile.from_json(text).canonical_digest()
    assert (task.task_id, task.attempt, task.timeout_seconds, task.verify) == ("step_002", 3, 120, ["pytest"])
    assert task.confidence.score == assessment.score and task.workspace == "/tmp/worktree"
    own = tasks.build(
        "step_002",
        1,
        spec=step(timeout_seconds=30),
        policy=effective,
        assessment=assessment,
        context=TaskContext(),
        workspace="/w",
        redact=Redactor({}),
        verify=[],
    )
    assert own.timeout_seconds == 30 and own.allowed_files == ["**"]


def test_a_task_lists_the_last_earlier_steps_and_counts_the_rest() -> None:
    earlier = [f"step_{i:03d}" for i in range(1, 26)]
    listed, counted = tasks.listed_previous(earlier)
    assert listed == earlier[-tasks.PREVIOUS_STEPS_LISTED :] and listed[0] == "step_016"
    assert counted == 15
    assert tasks.listed_previous(earlier[:3]) == (earlier[:3], 0)
    assert tasks.listed_previous([]) == ([], 0)


def test_a_task_lists_its_conventions_and_reads_back_with_the_same_checksum() -> None:
    found = [Convention("AGENTS.md", b"Use tabs.\n", 10), Convention("src/AGENTS.md", b"x" * 100, 40)]
    listed = tasks.convention_files(found)
    assert [(c.path, c.bytes, c.shown) for c in listed] == [("AGENTS.md", 10, 10), ("src/AGENTS.md", 100, 40)]
    assert listed[0].digest == "sha256:" + hashlib.sha256(b"Use tabs.\n").hexdigest()
    assessment = assess(
        allowed_files=["a.py"], verify=[], history=History("a.py"), max_diff_lines=500, expected_lines=None
    )
    task = tasks.build(
        "step_001",
        1,
        spec=step(allowed_files=["src/a.py"]),
        policy=policy(),
        assessment=assessment,
        context=TaskContext(conventions=listed),
        workspace="/w",
        redact=Redactor({}),
        verify=[],
    )
    again = TaskFile.from_json(task.to_json())
    assert again.context.conventions == listed and again.canonical_digest() == task.checksum
    assert json.loads(task.to_json())["context"]["conventions"][1] == {
        "path": "src/AGENTS.md",
        "digest": "sha256:" + hashlib.sha256(b"x" * 100).hexdigest(),
        "bytes": 100,
        "shown": 40,
    }
