"""JSON Schemas of the file contract, generated from the models (`conductor schema NAME`).

The same schemas are committed under docs/schemas/; a test keeps them in step.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from conductor.models.agent import AgentsFile
from conductor.models.config import ConfigFile
from conductor.models.plan import PlanSpec
from conductor.models.policy import PolicyFile
from conductor.models.result import ResultFile
from conductor.models.task import TaskFile

MODELS: dict[str, type[BaseModel]] = {
    "task": TaskFile,
    "result": ResultFile,
    "policy": PolicyFile,
    "plan": PlanSpec,
    "config": ConfigFile,
    "agents": AgentsFile,
}
TITLES = {
    "task": "Conductor task file (step_NNN.task.json)",
    "result": "Conductor result file (step_NNN.result.json)",
    "policy": "Conductor policy (.conductor/policy.yaml)",
    "plan": "Conductor plan file (conductor build --plan FILE)",
    "config": "Conductor configuration (.conductor/config.yaml)",
    "agents": "Conductor agent profiles (.conductor/agents.yaml)",
}


def schema(name: str) -> dict[str, Any]:
    model = MODELS[name]
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:conductor:schema:{name}:1",
    }
    out.update(model.model_json_schema())
    out["title"] = TITLES[name]
    return out


def schema_text(name: str) -> str:
    return json.dumps(schema(name), indent=2, sort_keys=False) + "\n"
