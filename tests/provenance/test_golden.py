"""The golden ledger (tests/fixtures/golden): what an earlier Conductor recorded still verifies
with today's code, also once a field is added to each contract model verify reads, and a
flipped byte in it is still caught."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from conductor.ledger import refs
from conductor.models.event import Event
from conductor.models.result import ResultFile
from conductor.models.task import TaskFile
from conductor.provenance.statement import PREDICATE_TYPE, STATEMENT_TYPE
from tests.conftest import ROOT, git
from tests.provenance.tamper import flip, rewrite_tip
from tests.scenario import HELLO_STEPS, Project, build

BUNDLE = ROOT / "tests" / "fixtures" / "golden" / "ledger-1.bundle"
PLAN = "greet-people-8eb0db73f74d"  # the plan the bundle holds (make.py printed it)


@pytest.fixture
def golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A reviewer's clone of the golden repository, with the fork branch and the ledger."""
    clone = tmp_path / "golden"
    git(tmp_path, "clone", "-q", str(BUNDLE), str(clone))
    git(
        clone,
        "fetch",
        "-q",
        "origin",
        "refs/conductor/*:refs/conductor/*",
        "refs/heads/conductor/*:refs/heads/conductor/*",
    )
    monkeypatch.chdir(clone)
    return clone


def verify(run_cli: Any) -> dict[str, Any]:
    result = run_cli("verify", "--json")
    assert result.code == 0, result.out + result.err
    return {plan["plan"]: plan for plan in json.loads(result.out)["plans"]}


class TaskWithField(TaskFile):
    reviewer_note: str = Field(default="", description="A field a later Conductor might add.")


class ResultWithField(ResultFile):
    reviewer_note: str = Field(default="", description="A field a later Conductor might add.")


@dataclass(slots=True)
class EventWithField(Event):
    reviewer_note: str = ""


def add_field(monkeypatch: pytest.MonkeyPatch, model: type, extended: type) -> None:
    """`model` is `extended` everywhere Conductor named it (`from … import TaskFile`)."""
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("conductor"):
            for name, value in list(vars(module).items()):
                if value is model:
                    monkeypatch.setattr(module, name, extended)


def test_the_golden_ledger_verifies(golden: Path, run_cli) -> None:
    report = verify(run_cli)[PLAN]
    assert [s["step"] for s in report["steps"]] == ["step_001", "step_002"]
    assert all(check["ok"] for step in report["steps"] for check in step["checks"])
    text = run_cli("verify", PLAN)
    assert "main/step_002 (attempt 1, unsigned)" in text.out and text.out.strip().endswith("verified")


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_old_and_new_plans_verify_after_a_field_is_added_to_each_contract_model(
    golden: Path, tmp_path: Path, run_cli
) -> None:
    from conductor.models import task

    project = Project(golden, tmp_path / "scripts")
    project.scripts.mkdir()
    hello = {"write": {"hello.py": "def greet(name):\n    return f'Hi, {name}!'\n"}}
    tested = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hi, a!'\n"}}
    with pytest.MonkeyPatch.context() as patch:  # a Conductor whose models grew a field each
        add_field(patch, TaskFile, TaskWithField)
        add_field(patch, ResultFile, ResultWithField)
        add_field(patch, Event, EventWithField)
        assert task.TaskFile is TaskWithField
        assert verify(run_cli)[PLAN]["ok"]  # the old plan

        # a plan it records: its tasks carry the field
        plan = project.plan(HELLO_STEPS, name="again.yaml")
        built = build(run_cli, project, plan, project.agent({"step_001": [hello], "step_002": [tested]}))
        assert built.code == 0, built.err
        (new,) = set(project.ledger().plans()) - {PLAN}
        task_record = json.loads(project.record("completed/step_001.task.json", new))
        assert task_record["reviewer_note"] == "" and task_record["format"] == 1
        assert json.loads(project.record("fork.json", new))["format"] == 1
        assert json.loads(git(golden, "show", f"{refs.plan_log(new)}:plan.json"))["format"] == 1
        assert set(verify(run_cli)) == {PLAN, new}

    assert task.TaskFile is TaskFile  # and a Conductor without the field verifies both
    assert set(verify(run_cli)) == {PLAN, new}


@pytest.mark.parametrize(
    "change",
    [
        lambda data: flip(data, 40),
        # the same to a model that reads 1.0 as the int 1; not the same record
        lambda data: data.replace(b'"attempt": 1,', b'"attempt": 1.0,'),
    ],
    ids=["a flipped byte", "a number the model reads the same"],
)
def test_a_changed_golden_task_record_fails(golden: Path, run_cli, change: Any) -> None:
    path = "completed/step_001.task.json"
    rewrite_tip(golden, refs.fork_log(PLAN, "main"), path, change)
    result = run_cli("verify", PLAN, "--json")
    assert result.code == 1
    (step, _) = json.loads(result.out)["steps"]
    assert {c["check"] for c in step["checks"] if not c["ok"]} == {"task", "records"}


STATEMENT = "completed/step_001.provenance.json"
TASK = "completed/step_001.task.json"


WRONG_SHAPE = json.dumps(
    {"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "predicate": [], "subject": []}
).encode()


def other_type(data: bytes) -> bytes:
    return data.replace(b"/attestations/step/v1", b"/attestations/step/v2")


@pytest.mark.parametrize(
    ("path", "change", "failing", "said"),
    [
        (STATEMENT, lambda _: b"[" * 100_000 + b"]" * 100_000, {"statement"}, "nested 100000 levels deep"),
        (STATEMENT, lambda _: WRONG_SHAPE, {"statement"}, "it has no predicate object"),
        (STATEMENT, other_type, {"statement"}, "this Conductor verifies https://conductor.invalid/"),
        (
            TASK,
            lambda d: d.replace(b'"attempt": 1,', b'"attempt": 1, "format": 2,'),
            {"task", "records"},
            "format 2",
        ),
        (TASK, lambda _: b'{"a": 1, "a": 2}', {"task", "records"}, "appears twice"),
    ],
    ids=["deep", "wrong shape", "newer statement format", "newer task format", "duplicate key"],
)
def test_a_crafted_record_is_a_failed_check_never_a_crash(
    golden: Path, run_cli, path: str, change: Any, failing: set[str], said: str
) -> None:
    rewrite_tip(golden, refs.fork_log(PLAN, "main"), path, change)
    result = run_cli("verify", PLAN, "--json")
    assert result.code == 1, result.err
    (step, _) = json.loads(result.out)["steps"]
    bad = [c for c in step["checks"] if not c["ok"]]
    assert {c["check"] for c in bad} == failing
    assert said in " ".join(c["detail"] for c in bad)


def test_a_plan_record_of_a_newer_format_is_refused(golden: Path, run_cli) -> None:
    assert "format" not in json.loads(git(golden, "show", f"{refs.plan_log(PLAN)}:plan.json"))  # 1
    newer = lambda data: json.dumps({**json.loads(data), "format": 2}).encode()  # noqa: E731
    rewrite_tip(golden, refs.plan_log(PLAN), "plan.json", newer)
    result = run_cli("adopt", PLAN)
    assert result.code == 1
    assert "plan.json was written in format 2; this Conductor reads format 1" in result.err
    assert "upgrade Conductor" in result.err
