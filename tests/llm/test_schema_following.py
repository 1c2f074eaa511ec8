"""The pipeline against a model that answers only what each request's schema describes
(conductor.llm.fakemodel), through the real SDKs: explore, build and replay end to end, faults,
and the schema bug a schema-following model exposes."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from conductor import resources
from conductor.llm.answers import EditAnswer, PlanAnswer, answer_schema, plan_problems
from conductor.llm.caller import Caller, Exchange
from conductor.llm.fake import Seen
from conductor.llm.fakemodel import Fault, SchemaFollowingModel, answer, request_schema, request_text
from conductor.llm.gemini import GeminiProvider
from conductor.llm.provider import LLMError, LLMRequest
from conductor.llm.schema import DIALECTS, canonical, for_dialect
from tests.conftest import git
from tests.scenario import Project

KEY = "fake-gemini-key-abcdef123456"
PLAN_PROMPT = (
    "Goal: Create a Python CLI task manager\n\nPlan {n} genuinely different strategies (different"
    " designs, not variations).\n\nRepository files:\napp.py\npoetry.lock\n\nPolicy:\n"
    "- protected patterns (never allow these): *.lock, migrations/*\n"
)
EDIT_PROMPT = (
    "Task step_001 (attempt 1): Create todo.py\n\nYou may change only: todo.py, notes.md\n\n"
    "Current content of the files you may change:\n--- todo.py ---\n(does not exist yet)\n"
    "--- notes.md ---\n# notes\n"
)


def assert_answers_follow_the_schemas(fake: SchemaFollowingModel) -> None:
    """Every request carried a schema, and every answer not spoiled on purpose follows it."""
    for seen in fake.seen:
        schema = request_schema(seen.body, fake.flavor)
        assert schema is not None, seen.path
        if "json" in seen.reply and "fault" not in seen.reply:
            jsonschema.validate(seen.reply["json"], schema)


def request(schema: dict[str, Any], prompt: str = PLAN_PROMPT.format(n=2)) -> LLMRequest:
    return LLMRequest(
        purpose="plan",
        system="plan well",
        prompt=prompt,
        schema_name="PlanAnswer",
        schema=schema,
        scope="plan",
    )


def ask(
    fake: SchemaFollowingModel, schema: dict[str, Any], *, timeout: float = 5.0
) -> tuple[Any, list[Exchange]]:
    recorded: list[Exchange] = []
    provider = GeminiProvider(model="gemini-test", base_url=fake.url, timeout_seconds=timeout, key=KEY)
    caller = Caller(provider, retries=2, backoff_seconds=0.01, recorder=recorded.append)
    return caller.ask(request(schema), PlanAnswer, plan_problems), recorded


# The fake itself: what it writes from a schema and a prompt.


@pytest.mark.parametrize("dialect", DIALECTS)
def test_answers_follow_each_dialects_schema_and_parse(dialect: str) -> None:
    plan_schema = for_dialect(canonical(PlanAnswer), dialect)
    edit_schema = for_dialect(canonical(EditAnswer), dialect)
    for n in (1, 3):
        plan = answer(plan_schema, PLAN_PROMPT.format(n=n), seed=f"{dialect}{n}", ids=True)
        jsonschema.validate(plan, plan_schema)
        parsed = PlanAnswer.model_validate(plan)
        assert [s.id for s in parsed.strategies] == [f"Approach {i}" for i in range(1, n + 1)]
        assert all(
            f.startswith("feature_") for s in parsed.strategies for t in s.steps for f in t.allowed_files
        )
    edit = answer(edit_schema, EDIT_PROMPT, seed=dialect)
    jsonschema.validate(edit, edit_schema)
    parsed_edit = EditAnswer.model_validate(edit)
    assert [(e.path, e.action) for e in parsed_edit.edits] == [("todo.py", "write"), ("notes.md", "write")]
    compile(parsed_edit.edits[0].content or "", "todo.py", "exec")
    assert answer(edit_schema, EDIT_PROMPT, seed=dialect) == edit  # deterministic


def test_only_declared_properties_within_their_bounds() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["level", "tags", "mode", "note"],
        "properties": {
            "level": {"type": "integer", "minimum": 3, "maximum": 7},
            "ratio": {"type": "number", "minimum": 0.25, "maximum": 0.5},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
            "mode": {"type": "string", "enum": ["fast", "slow"]},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "flag": {"type": ["boolean", "null"]},
            "nested": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
        },
    }
    seen_optional: set[str] = set()
    for seed in range(30):
        value = answer(schema, "anything", seed=str(seed))
        jsonschema.validate(value, schema)
        seen_optional |= set(value) - set(schema["required"])
    assert seen_optional == {"ratio", "flag", "nested"}  # optional ones sometimes


def test_a_schema_that_requires_an_undeclared_property_gets_answers_that_fail_validation() -> None:
    """The old `title` bug: a property dropped from `properties` but still `required`. A model
    that follows the schema cannot produce it, so the answer fails our validation twice."""
    broken = copy.deepcopy(canonical(PlanAnswer))
    step = broken["properties"]["strategies"]["items"]["properties"]["steps"]["items"]
    del step["properties"]["title"]
    assert "title" in step["required"]
    with SchemaFollowingModel() as fake, pytest.raises(LLMError) as info:
        ask(fake, broken)
    assert "PlanAnswer answer was wrong twice" in info.value.message
    assert "strategies.0.steps.0.title: Field required" in info.value.message
    assert len(fake.seen) == 2 and all("title" not in json.dumps(s.reply["json"]) for s in fake.seen)


@pytest.mark.parametrize("fault", ["wrong-type", "missing-field"])
def test_a_wrong_answer_then_a_good_one_is_re_asked_and_accepted(fault: Fault) -> None:
    with SchemaFollowingModel(faults=[fault]) as fake:
        answered, recorded = ask(fake, canonical(PlanAnswer))
    assert len(answered.value.strategies) == 2
    assert [e.valid for e in recorded] == [False, True]
    assert fake.seen[0].reply["fault"] == fault
    assert "Your previous answer was rejected:\n- strategies" in request_text(fake.seen[1].body, "gemini")
    assert_answers_follow_the_schemas(fake)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_429_and_a_timeout_are_retried() -> None:
    with SchemaFollowingModel(faults=["429", "timeout"], delay=1.0) as fake:
        answered, recorded = ask(fake, canonical(PlanAnswer), timeout=0.4)
    assert len(answered.value.strategies) == 2
    errors = [e.error or "" for e in recorded]
    assert "HTTP 429" in errors[0] and "did not answer within 0.4 s" in errors[1] and not errors[2]
    assert [s.reply.get("fault") for s in fake.seen] == ["429", "timeout", None]


def test_a_request_without_a_schema_is_refused() -> None:
    fake = SchemaFollowingModel()
    reply = fake._next(Seen("/v1/models/m:generateContent", {}, {"contents": []}))
    assert reply["status"] == 400 and "needs a response schema" in reply["message"]
    with pytest.raises(ValueError, match="unknown faults"):
        SchemaFollowingModel(faults=["404"])  # type: ignore[list-item]


def test_the_demo_script_passes_the_same_schema_checks() -> None:
    scripted = json.loads(resources.text("fixtures/scripts/demo_llm.json"))
    schemas = {model: for_dialect(answer_schema(model), "gemini") for model in (PlanAnswer, EditAnswer)}
    for reply in scripted["replies"]:
        model = PlanAnswer if "strategies" in reply["json"] else EditAnswer
        jsonschema.validate(reply["json"], schemas[model])
        model.model_validate(reply["json"])


# The pipeline: the CLI, the real SDKs.


@pytest.mark.slow
def test_explore_completes_through_a_429_with_free_text_ids_and_replays(
    proj: Project, run_cli, schema_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = schema_model(faults=["429"], free_text_ids=True)
    result = run_cli(
        "explore", "Create a Python CLI task manager", "--forks", "2", "--no-spawn", "--yes", "--json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    forks = {f["fork"]: f for f in data["forks"]}
    assert set(forks) == {"approach-1", "approach-2"}
    assert all(f["state"] == "completed" for f in forks.values())
    assert data["recommended"] is None  # its steps have no verify commands: nothing tells them apart
    assert "approach-1 and approach-2 each ran no verify command" in data["reason"]
    assert fake.seen[0].reply["status"] == 429 and len(fake.seen) > 3
    assert "Plan 2 genuinely different strategies" in request_text(fake.seen[1].body, "gemini")
    assert_answers_follow_the_schemas(fake)
    plan = data["plan"]
    written = git(proj.root, "ls-tree", "-r", "--name-only", f"conductor/{plan}/approach-1")
    assert "feature_1_1.py" in written.split()
    # the recordings replay to the same trees, without the model
    fake.stop()
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    replayed = run_cli("replay", plan, "--verify", "--json")
    assert replayed.code == 0, replayed.err
    assert json.loads(replayed.out)["identical"] is True


@pytest.mark.slow
def test_build_through_an_openai_compatible_server(proj: Project, run_cli, schema_model) -> None:
    fake = schema_model("openai")
    result = run_cli(
        "build", "Create a.py", "--llm", "openai", "--base-url", fake.url, "--model", "m", "--yes", "--json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    (fork,) = data["forks"]
    assert {s["state"] for s in fork["steps"]} == {"completed"}
    assert all(s.path == "/v1/chat/completions" for s in fake.seen)
    assert_answers_follow_the_schemas(fake)
    assert data["state"] == "completed"
    assert "a.py" in git(proj.root, "ls-tree", "--name-only", fork["branch"]).split()


def test_a_server_that_always_fails_is_a_clear_error(proj: Project, run_cli, schema_model) -> None:
    fake = schema_model("openai", faults=["500"] * 5)
    result = run_cli("build", "Create a.py", "--llm", "openai", "--base-url", fake.url, "--model", "m")
    assert result.code == 1
    assert f"error: the model failed 3 times; last: {fake.url} answered HTTP 500" in result.err
    assert "hint: try again later, or raise llm.retries" in result.err
    assert len(fake.seen) == 3 and proj.ledger().plans() == []


def test_fault_replies_are_recorded_in_seen() -> None:
    with SchemaFollowingModel(faults=["500"]) as fake:
        answered, _ = ask(fake, canonical(PlanAnswer))
    assert answered.value.strategies
    assert [s.reply.get("status", 200) for s in fake.seen] == [500, 200]
