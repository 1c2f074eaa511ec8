"""The JSON Schemas of the commands' output, generated from contract.py (`conductor schema
output COMMAND`); the same schemas are committed under docs/schemas/output/, and a test keeps
them in step and validates what every command prints against them."""

from __future__ import annotations

import json
from typing import Any

from conductor.commands.output import contract as c

OUTPUTS: dict[str, Any] = {
    "abandon": c.Abandonment,
    "adopt": c.Adoption,
    "agents": list[c.Agent],
    "approve": c.Decision,
    "archive": c.Archive,
    "build": c.PlanRun,
    "checkout": c.Checkout,
    "clean": list[c.Cleaned],
    "compare": c.Comparison,
    "diff": c.Diff,
    "events": c.Event,
    "explain": c.Explanation,
    "explore": c.Exploration,
    "fork": c.PlanRun,
    "handoff-metrics": c.Metrics,
    "hooks-install": list[c.Hook],
    "hooks-pre-push": c.PrePush,
    "hooks-uninstall": list[c.Hook],
    "init": c.Init,
    "policy": c.Policy,
    "policy-check": c.PolicyCheck,
    "pr": c.PullRequest,
    "reject": c.Decision,
    "replay": c.Replay,
    "resume": c.PlanRun,
    "revise": c.PlanRun,
    "status": list[c.Plan],
    "verify": c.Verification | c.Verifications,
    "worker": c.Work,
}
"""Each command with --json (a subcommand as `policy-check`) and the type of what it prints
(`events`: of each line)."""
COMMAND_LINES = {
    name: name.replace("-", " ", 1)
    for name in ("hooks-install", "hooks-pre-push", "hooks-uninstall", "policy-check")
}


def output_schema(command: str) -> dict[str, Any]:
    """The schema of what `conductor COMMAND --json` prints (for `events`, each line). Objects
    allow no other keys: a key the contract does not name is drift, caught by the test."""
    from pydantic import TypeAdapter

    document: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:conductor:schema:output:{command}:1",
    }
    generated = TypeAdapter(OUTPUTS[command]).json_schema()
    _closed(generated)
    document.update(generated)
    document["title"] = f"conductor {COMMAND_LINES.get(command, command)} --json"
    return document


def output_schema_text(command: str) -> str:
    return json.dumps(output_schema(command), indent=2, sort_keys=False) + "\n"


def _closed(node: Any) -> None:
    """Every object with named properties allows no others; titles pydantic derives from the
    key names say nothing and go."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for key, value in list(node.items()):
            if key == "properties" and isinstance(value, dict):
                for prop in value.values():
                    if isinstance(prop, dict):
                        prop.pop("title", None)
            _closed(value)
    elif isinstance(node, list):
        for item in node:
            _closed(item)
