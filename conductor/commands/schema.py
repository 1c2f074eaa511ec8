"""`conductor schema NAME`: the JSON Schema of a file of the contract (task, result, policy…)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TextIO

from conductor.models.schema import schema, schema_text
from conductor.report import Report


@dataclass
class Schema(Report):
    name: str
    document: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.document

    def render(self) -> str:
        return json.dumps(self.document, indent=2, sort_keys=False)

    def emit(self, out: TextIO, *, as_json: bool) -> None:
        out.write(schema_text(self.name))  # JSON either way, exactly as docs/schemas/ holds it


def run(name: str) -> Schema:
    return Schema(name, schema(name))
