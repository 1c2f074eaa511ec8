"""`conductor schema NAME`: the JSON Schema of a file of the contract (task, result, policy…);
`conductor schema output COMMAND`: the schema of what `conductor COMMAND --json` prints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conductor.commands.output.schemas import OUTPUTS, output_schema, output_schema_text
from conductor.models.schema import schema, schema_text
from conductor.report import Report
from conductor.terminal import Screen

OUTPUT = "output"
COMMANDS = sorted(OUTPUTS)  # the commands with --json, subcommands as `policy-check`


@dataclass
class Schema(Report):
    name: str
    document: dict[str, Any]
    text: str  # the document exactly as docs/schemas/ holds it

    def to_json(self) -> dict[str, Any]:
        return self.document

    def render(self) -> str:
        return json.dumps(self.document, indent=2, sort_keys=False)

    def show(self, screen: Screen, *, as_json: bool) -> None:
        screen.write(self.text)  # JSON either way


def run(name: str, command: str | None = None) -> Schema:
    """A file's schema, or (`name` is `output`) the schema of `command`'s --json output."""
    if name == OUTPUT and command is not None:
        return Schema(f"output/{command}", output_schema(command), output_schema_text(command))
    return Schema(name, schema(name), schema_text(name))
