"""One JSON contract (issue 21, point 4; docs/json.md): `conductor schema output COMMAND` publishes
what each command prints with --json, the committed schemas are those, and every command with
--json, run for real in one project, prints a document its schema accepts — so no command can
drift from the vocabulary (`plan`, `fork`, `step`, `state`, `attempt`, ISO times) unnoticed."""

from __future__ import annotations

import json

import click
import pytest
from jsonschema import Draft202012Validator

from conductor.cli.app import cli
from conductor.commands.output.schemas import OUTPUTS, output_schema, output_schema_text
from tests.conftest import ROOT

OUTPUT_DIR = ROOT / "docs" / "schemas" / "output"


def json_commands() -> set[str]:
    """Every command of the CLI with a --json option, a subcommand as `policy-check`."""
    found = set()

    def walk(command: click.Command, name: str) -> None:
        if any(param.name == "as_json" for param in command.params) and not isinstance(command, click.Group):
            found.add(name)
        if isinstance(command, click.Group):
            for sub, child in command.commands.items():
                walk(child, f"{name}-{sub}" if name else sub)
            if any(param.name == "as_json" for param in command.params):
                found.add(name)  # `conductor policy` itself prints the policy

    import conductor.cli  # noqa: F401 (registers every command)

    walk(cli, "")
    return found


def test_every_command_with_json_has_a_published_schema() -> None:
    assert json_commands() == set(OUTPUTS)


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_the_committed_output_schemas_are_the_published_ones(command: str, run_cli) -> None:
    committed = (OUTPUT_DIR / f"{command}.schema.json").read_text(encoding="utf-8")
    assert committed == output_schema_text(command), (
        f"docs/schemas/output/{command}.schema.json is stale: run "
        f"`conductor schema output {command} > docs/schemas/output/{command}.schema.json`"
    )
    shown = run_cli("schema", "output", command)
    assert shown.code == 0 and shown.out == committed
    Draft202012Validator.check_schema(json.loads(committed))


def test_schema_output_names_the_commands_it_knows(run_cli) -> None:
    unknown = run_cli("schema", "output", "nope")
    assert unknown.code == 2 and "output takes one of: abandon, adopt" in unknown.err
    assert run_cli("schema", "output").code == 2 and run_cli("schema", "task", "status").code == 2


def test_a_key_the_contract_does_not_name_is_refused() -> None:
    # the schemas are closed: an old key (`id`) or prose state would fail the run below
    validator = Draft202012Validator(output_schema("status"))
    plan = {
        "plan": "p",
        "goal": "g",
        "state": "completed",
        "created_at": "2026-03-01T10:00:00.000000Z",
        "origin": None,
        "hint": None,
        "archived": False,
        "forks": [],
    }
    assert validator.is_valid([plan])
    assert not validator.is_valid([{**plan, "id": "p"}])
    fork = {"fork": "main", "state": "completed", "branch": "b", "last_event": "e", "updated_at": "t"}
    prose = {"step": "step_001", "state": "failed (attempt 2)", "attempt": 2, "confidence": None}
    assert not validator.is_valid([{**plan, "forks": [{**fork, "steps": [prose]}]}])
