"""The file contract: task, result, plan, confidence bands, schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from conductor.models.confidence import Confidence, ConfidenceLevel
from conductor.models.plan import PlanSpec
from conductor.models.result import ResultFile
from conductor.models.schema import MODELS, schema_text
from conductor.models.task import TaskFile, record_digest
from conductor.models.untrusted import UntrustedError

ROOT = Path(__file__).resolve().parents[2]

SEED_TASK = {
    "task_id": "step_001",
    "instruction": "Create a hello.py file...",
    "allowed_files": ["hello.py"],
    "constraints": [
        "Do NOT modify files outside allowed_files",
        "Do NOT run shell commands unless instructed",
    ],
    "timeout_seconds": 300,
    "confidence": {"score": 0.89, "level": "high"},
}


@pytest.mark.parametrize(
    ("score", "level"),
    [(1.0, "high"), (0.8, "high"), (0.79, "medium"), (0.5, "medium"), (0.49, "low"), (0.0, "low")],
)
def test_confidence_level_follows_the_seed_bands(score: float, level: str) -> None:
    assert Confidence(score=score).level == ConfidenceLevel(level)
    assert ConfidenceLevel.for_score(score).value == level


def test_confidence_level_that_contradicts_the_score_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match score"):
        Confidence.model_validate({"score": 0.3, "level": "high"})
    with pytest.raises(ValidationError):
        Confidence(score=1.2)


def test_the_seed_task_file_is_a_valid_task_exactly_as_written() -> None:
    task = TaskFile.model_validate(SEED_TASK)
    assert task.confidence.level is ConfidenceLevel.HIGH
    dumped = task.model_dump(mode="json")
    for key, value in SEED_TASK.items():
        assert dumped[key] == value
    assert task.attempt == 1


def test_checksum_detects_any_change_to_the_task() -> None:
    task = TaskFile.model_validate(SEED_TASK).sealed()
    assert task.checksum.startswith("sha256:") and len(task.checksum) == 71
    reread = TaskFile.from_json(task.to_json())
    assert reread.canonical_digest() == task.checksum
    # reformatting the JSON does not matter; changing a value does
    pretty = json.dumps(json.loads(task.to_json()), indent=8, sort_keys=True)
    assert TaskFile.from_json(pretty).canonical_digest() == task.checksum
    tampered = json.loads(task.to_json())
    tampered["allowed_files"].append("secrets.env")
    assert TaskFile.model_validate(tampered).canonical_digest() != task.checksum


def test_a_task_is_sealed_over_the_bytes_it_is_recorded_as_and_carries_its_format() -> None:
    task = TaskFile.model_validate(SEED_TASK).sealed()
    recorded = task.to_json()
    assert json.loads(recorded)["format"] == 1 and "format" not in SEED_TASK  # absent: format 1
    assert record_digest(recorded) == task.checksum  # the function verify applies to the record
    unknown = json.dumps({**json.loads(recorded), "added_later": ""})
    assert record_digest(unknown) != task.checksum  # every key counts, known to the model or not
    with pytest.raises(ValidationError, match=r"task file format 2: this Conductor reads format 1 \(upgrade"):
        TaskFile.model_validate({**SEED_TASK, "format": 2})


@pytest.mark.parametrize("bad", ["../etc/passwd", "/etc/passwd", "src/../../x", "C:\\x", ".git/config", ""])
def test_task_allowed_files_cannot_escape_the_repository(bad: str) -> None:
    with pytest.raises(ValidationError, match="allowed_files"):
        TaskFile.model_validate({**SEED_TASK, "allowed_files": [bad]})


def test_task_rejects_unknown_keys_and_bad_ids() -> None:
    with pytest.raises(ValidationError, match="extra"):
        TaskFile.model_validate({**SEED_TASK, "surprise": 1})
    with pytest.raises(ValidationError, match="task_id"):
        TaskFile.model_validate({**SEED_TASK, "task_id": "step-1"})
    with pytest.raises(ValidationError, match="allowed_files"):
        TaskFile.model_validate({**SEED_TASK, "allowed_files": []})


def test_result_file_round_trip_and_optional_usage() -> None:
    result = ResultFile.model_validate(
        {
            "task_id": "step_001",
            "attempt": 2,
            "status": "completed",
            "summary": "Added hello.py",
            "files_changed": ["hello.py"],
            "tokens": {"input": 10, "output": 5},
            "cost": 0.001,
        }
    )
    assert result.tokens is not None and result.tokens.total == 15
    assert ResultFile.from_json(result.to_json()) == result
    minimal = ResultFile.from_json('{"task_id":"step_001","attempt":1,"status":"failed","summary":"no"}')
    assert "tokens" not in minimal.to_json()
    with pytest.raises(UntrustedError, match="status"):  # an executor's file: refused, saying why
        ResultFile.from_json('{"task_id":"step_001","attempt":1,"status":"done","summary":"x"}')
    with pytest.raises(UntrustedError, match="attempt"):
        ResultFile.from_json('{"task_id":"step_001","status":"completed","summary":"x"}')


def test_plan_steps_shorthand_is_a_single_main_fork() -> None:
    plan = PlanSpec.model_validate(
        {"goal": "g", "steps": [{"title": "t", "instruction": "i", "allowed_files": ["a.py"]}]}
    )
    assert [f.id for f in plan.forks] == ["main"]
    assert plan.forks[0].steps[0].allowed_files == ["a.py"]


def test_plan_refuses_duplicate_and_invalid_fork_ids() -> None:
    step = {"title": "t", "instruction": "i"}
    with pytest.raises(ValidationError, match="used twice"):
        PlanSpec.model_validate({"forks": [{"id": "a", "steps": [step]}, {"id": "a", "steps": [step]}]})
    with pytest.raises(ValidationError, match="not a valid fork id"):
        PlanSpec.model_validate({"forks": [{"id": "Has Space", "steps": [step]}]})
    with pytest.raises(ValidationError, match="either 'steps' or 'forks'"):
        PlanSpec.model_validate({"steps": [step], "forks": []})


@pytest.mark.parametrize("name", sorted(MODELS))
def test_committed_schemas_match_the_models(name: str) -> None:
    committed = (ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(name), (
        f"docs/schemas/{name}.schema.json is stale: run `conductor schema {name} > "
        f"docs/schemas/{name}.schema.json`"
    )


def test_schema_command_prints_the_committed_schema(run_cli) -> None:
    for name in MODELS:
        result = run_cli("schema", name)
        assert result.code == 0
        assert result.out == (ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text()
        assert json.loads(result.out)["title"].startswith("Conductor")
    bad = run_cli("schema", "nonsense")
    assert bad.code == 2 and "Invalid value" in bad.err


@pytest.mark.parametrize("title", ["Add\x00it", "Add\nit", "Add\x1b]52;c;x\x07it", "Add\x85it"])
def test_a_step_title_is_one_line_of_text(title: str) -> None:
    from pydantic import ValidationError

    from conductor.models.plan import PlanSpec

    with pytest.raises(ValidationError, match="control character"):
        PlanSpec.model_validate({"goal": "g", "steps": [{"title": title, "instruction": "do it"}]})
