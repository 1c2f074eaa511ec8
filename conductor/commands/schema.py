"""`conductor schema NAME`: the JSON Schema of a file of the contract (task, result, policy…)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conductor.models.schema import schema, schema_text
from conductor.report import Report
from conductor.terminal import Screen


@dataclass
class Schema(Report):
    name: str
    document: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.document

    def render(self) -> str:
        return json.dumps(self.document, indent=2, sort_keys=False)

    def show(self, screen: Screen, *, as_json: bool) -> None:
        screen.write(schema_text(self.name))  # JSON either way, exactly as docs/schemas/ holds it


def run(name: str) -> Schema:
    return Schema(name, schema(name))
