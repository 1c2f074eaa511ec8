"""The schema we send is the schema we validate: for every answer model and every provider
dialect, whatever a model that follows the sent schema produces parses, and becomes either a
plan or edits, or a list of problems for the re-ask — never an exception."""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel

from conductor.llm.answers import EditAnswer, PlanAnswer, edit_problems, plan_problems
from conductor.llm.planner import to_forks
from conductor.llm.schema import DIALECTS, KEYWORDS, canonical, for_dialect
from conductor.models.plan import PlanSpec

ANSWERS: list[type[BaseModel]] = [PlanAnswer, EditAnswer]
EXAMPLES = int(os.environ.get("CONDUCTOR_PROPERTY_EXAMPLES", "60"))

# What each provider documents as supported, copied from its documentation (not from our code):
# Gemini API, "Structured output" → "JSON Schema support" (responseJsonSchema).
GEMINI_DOCUMENTED = {
    "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items",
    "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf", "properties",
    "additionalProperties", "required",
}  # fmt: skip
# OpenAI, "Structured Outputs" → "Supported schemas" (strict mode).
OPENAI_DOCUMENTED = {
    "type", "description", "title", "properties", "required", "additionalProperties", "enum",
    "const", "anyOf", "$defs", "$ref", "items", "minItems", "maxItems", "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
}  # fmt: skip
# Ollama `format` → llama.cpp "JSON Schemas → GBNF" (grammars/README.md).
OLLAMA_DOCUMENTED = {
    "type", "description", "title", "properties", "required", "additionalProperties", "enum",
    "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "items", "prefixItems", "minItems",
    "maxItems", "pattern", "minLength", "maxLength", "format", "minimum", "maximum",
}  # fmt: skip
DOCUMENTED = {"gemini": GEMINI_DOCUMENTED, "openai": OPENAI_DOCUMENTED, "ollama": OLLAMA_DOCUMENTED}
SCHEMA_MAPS, SCHEMA_VALUES, SCHEMA_LISTS = {"properties"}, {"items", "additionalProperties"}, {"anyOf"}


def keywords(schema: dict[str, Any]) -> set[str]:
    """Every keyword used anywhere in a schema (property names are not keywords)."""
    found = set(schema)
    for key, value in schema.items():
        if key in SCHEMA_MAPS:
            for sub in value.values():
                found |= keywords(sub)
        elif key in SCHEMA_VALUES and isinstance(value, dict):
            found |= keywords(value)
        elif key in SCHEMA_LISTS:
            for sub in value:
                found |= keywords(sub)
    return found


def objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = [schema] if schema.get("type") == "object" else []
    for sub in schema.get("properties", {}).values():
        found += objects(sub)
    for sub in schema.get("anyOf", []):
        found += objects(sub)
    if isinstance(schema.get("items"), dict):
        found += objects(schema["items"])
    return found


CASES = [(m, d) for m in ANSWERS for d in DIALECTS]
IDS = [f"{m.__name__}-{d}" for m, d in CASES]


@pytest.mark.parametrize(("model", "dialect"), CASES, ids=IDS)
def test_the_sent_schema_uses_only_documented_keywords(model: type[BaseModel], dialect: str) -> None:
    sent = for_dialect(canonical(model), dialect)
    assert keywords(sent) <= DOCUMENTED[dialect]
    assert KEYWORDS[dialect] <= DOCUMENTED[dialect]  # (our list is a subset of the documented one)
    jsonschema.Draft202012Validator.check_schema(sent)


@pytest.mark.parametrize(("model", "dialect"), CASES, ids=IDS)
def test_every_required_key_is_a_property(model: type[BaseModel], dialect: str) -> None:
    sent = for_dialect(canonical(model), dialect)
    for node in objects(sent):
        assert set(node.get("required", [])) <= set(node.get("properties", {})), node
        if dialect == "openai":  # strict mode: closed objects, every property listed
            assert node["additionalProperties"] is False
            assert set(node["required"]) == set(node["properties"])


def test_a_step_keeps_its_title_property() -> None:
    """The bug that made every schema-following plan invalid: `title` was dropped as an
    annotation, while `required` still listed it."""
    for dialect in DIALECTS:
        step = for_dialect(canonical(PlanAnswer), dialect)["properties"]["strategies"]["items"]
        step = step["properties"]["steps"]["items"]
        assert "title" in step["properties"] and "title" in step["required"]
        assert "title" not in step  # the annotation is gone


def _check(model: type[BaseModel], instance: Any) -> None:
    value = model.model_validate(instance)  # never a parse error
    if isinstance(value, PlanAnswer):
        if not plan_problems(value):  # a clean plan becomes forks a plan can hold
            PlanSpec(goal="g", forks=to_forks(value.strategies))
    else:
        assert isinstance(value, EditAnswer)
        edit_problems(value)


INSTANCE_CASES = [pytest.param(m, d, id=f"{m.__name__}-{d}") for m, d in CASES]


@pytest.mark.slow  # drawing the instances takes half a second to seconds (the plan answer's schema is deep)
@pytest.mark.parametrize(("model", "dialect"), INSTANCE_CASES)
def test_every_instance_of_the_sent_schema_parses(model: type[BaseModel], dialect: str) -> None:
    sent = for_dialect(canonical(model), dialect)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(from_schema(sent))
    def check(instance: Any) -> None:
        _check(model, instance)

    check()


@given(st.text(max_size=80))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
def test_any_strategy_id_becomes_a_valid_fork_id(raw: str) -> None:
    answer = PlanAnswer.model_validate(
        {
            "strategies": [
                {
                    "id": raw,
                    "strategy": "s",
                    "steps": [{"title": "t", "instruction": "i", "allowed_files": ["a"], "confidence": 1}],
                }
            ]
            * 2
        }
    )
    forks = to_forks(answer.strategies)
    assert len({f.id for f in forks}) == 2


def test_labels_are_normalized_and_what_matters_is_a_problem() -> None:
    answer = PlanAnswer.model_validate(
        {
            "strategies": [
                {
                    "id": "Approach 3",
                    "strategy": "",
                    "steps": [
                        {
                            "title": "  \n",
                            "instruction": "Write the\nparser",
                            "allowed_files": ["src/a.py"],
                            "confidence": 7,
                            "expected_lines": -4,
                            "verify": None,
                        }
                    ],
                }
            ]
        }
    )
    step = answer.strategies[0].steps[0]
    assert (step.title, step.confidence, step.expected_lines) == ("Write the parser", 1.0, None)
    assert step.verify == [] and plan_problems(answer) == []
    (fork,) = to_forks(answer.strategies)
    assert (fork.id, fork.strategy) == ("approach-3", "Approach 3")
    bad = answer.model_dump()
    bad["strategies"][0]["steps"][0].update(allowed_files=["../etc/passwd"], instruction=" ")
    assert plan_problems(PlanAnswer.model_validate(bad)) == [
        "strategies.0.steps.0.instruction: is empty; say what the executor must do",
        "strategies.0.steps.0.allowed_files.0: '../etc/passwd' contains '..';"
        " paths must stay inside the repository",
    ]
    edits = EditAnswer.model_validate(
        {
            "summary": "",
            "explanation": "",
            "edits": [
                {"path": "a", "action": "write", "content": None, "search": None, "replace": None},
                {"path": "b", "action": "replace"},
            ],
        }
    )
    assert edits.summary == "Edited 2 files"
    assert edit_problems(edits) == [
        "edits.0 (a): action 'write' needs the whole file in content",
        "edits.1 (b): action 'replace' needs the exact search text",
    ]
