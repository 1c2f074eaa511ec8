"""One JSON contract (issue 21, point 4; docs/json.md): `conductor schema output COMMAND` publishes
what each command prints with --json, the committed schemas are those, and every command with
--json, run for real in one project, prints a document its schema accepts — so no command can
drift from the vocabulary (`plan`, `fork`, `step`, `state`, `attempt`, ISO times) unnoticed."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import click
import pytest
from jsonschema import Draft202012Validator

from conductor.cli.app import cli
from conductor.commands.output.schemas import OUTPUTS, output_schema, output_schema_text
from tests.conftest import ROOT, conductor_bin, git, run_process
from tests.llm.test_llm_runs import edit_reply, edits, model, plan_reply, step  # noqa: F401 (a fixture)
from tests.runner.test_remote import coordinate, shared  # noqa: F401 (a fixture)
from tests.scenario import HELLO_STEPS, TWO_FORKS, Project

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


class Contract:
    """Runs commands with --json and checks each document against its command's schema."""

    def __init__(self, run_cli: Any) -> None:
        self.run_cli = run_cli
        self.seen: set[str] = set()

    def check(self, name: str, out: str) -> Any:
        lines = out.splitlines() if name == "events" else [out]
        documents = [json.loads(line) for line in lines if line.strip()]
        validator = Draft202012Validator(output_schema(name))
        for document in documents:
            problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
            assert problems == [], (name, problems)
        self.seen.add(name)
        return documents[0] if documents else None

    def __call__(self, name: str, *args: str, code: int | None = 0) -> Any:
        result = self.run_cli(*args, "--json")
        assert code is None or result.code == code, (args, result.out, result.err)
        return self.check(name, result.out)


@pytest.mark.slow  # a dozen plans run for real, one of them through a worker in another clone
def test_every_command_prints_what_its_schema_says(
    shared: tuple[Project, Path],  # noqa: F811
    run_cli,
    model,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proj, clone = shared
    check = Contract(run_cli)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    check("init", "init")
    check("policy", "policy")
    check("policy-check", "policy", "check")
    check("agents", "agents")
    check("hooks-install", "hooks", "install")

    # a plan the model made (replay needs its recordings), its first step repaired once
    fake = model(
        [
            plan_reply(
                ("single", "One module", [step("Create todo.py", "todo.py", verify=["python3 todo.py"])])
            ),
            edit_reply("One module", "step_001", 1, edits(("todo.py", "syntax error ("))),
            edit_reply("One module", "step_001", 2, edits(("todo.py", "print('todo')\n"))),
        ]
    )
    built = check("build", "build", "Create a todo tool", "--yes")
    plan = built["plan"]
    assert built["forks"][0]["steps"][0]["attempt"] == 2
    fake.stop()
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    check("replay", "replay", plan, "--verify")

    agent = proj.agent({"*": [{"write": {"todo.py": "print('todo, again')\n"}}]})
    check("fork", "fork", "--from", f"{plan}/single@base", "--exec", agent, "--yes")
    check("revise", "revise", f"{plan}/single", "--comment", "todo.py:1: say more", "--exec", agent, "--yes")
    (proj.root / "two.yaml").write_text(json.dumps(TWO_FORKS))
    notes = proj.agent(
        {"step_001": [{"write": {"notes.md": "n\n"}}], "step_002": [{"write": {"more.md": "m\n"}}]}, "n.json"
    )
    explored = check("explore", "explore", "--plan", "two.yaml", "--exec", notes, "--yes")
    check("compare", "compare", explored["plan"])

    # plans that wait for a person: approved (then resumed), rejected, abandoned
    waits = proj.plan([{**HELLO_STEPS[0], "verify": []}], name="waits.yaml")
    hello = proj.agent({"*": [{"write": {"hello.py": "x = 1\n"}}]}, "hello.json")
    halted = [check("build", "build", "--plan", waits, "--exec", hello, code=1)["plan"] for _ in range(3)]
    check("approve", "approve", "step_001", "--plan", halted[0], "--no-resume")
    check("resume", "resume", halted[0])
    check("reject", "reject", "step_001", "--plan", halted[1], code=1)
    check("explain", "explain", "step_001", "--plan", halted[2])
    check("abandon", "abandon", halted[2])

    # a plan whose steps a worker in another clone does
    coordinator = coordinate(
        proj, proj.plan([{"title": "w", "instruction": "w", "allowed_files": ["w.txt"]}], name="w.yaml")
    )
    worked = proj.agent({"*": [{"write": {"w.txt": "w\n"}}]}, "w.json")
    deadline = time.monotonic() + 120
    while coordinator.poll() is None and time.monotonic() < deadline:
        result = run_process(
            conductor_bin(), "worker", "--remote", "origin", "--exec", worked, "--once", "--json", cwd=clone
        )
        assert result.code == 0, result.err
        if check.check("worker", result.out)["done"]:
            break
    out, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0 and json.loads(out)["state"] == "completed", err

    check("status", "status")
    check("events", "events", "--limit", "200")
    check("explain", "explain", "step_001", "--plan", plan)
    check("verify", "verify", plan)
    check("verify", "verify", code=None)  # every plan
    check("diff", "diff", f"{plan}/single")
    check("checkout", "checkout", f"{plan}/single@step_001", str(proj.scripts / "point"))
    check("handoff-metrics", "handoff-metrics")
    check("pr", "pr", f"{plan}/single")
    branch = f"refs/heads/conductor/{plan}/single"
    tip = git(proj.root, "rev-parse", branch).strip()
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{branch} {tip} {branch} {'0' * 40}\n"))
    check("hooks-pre-push", "hooks", "pre-push", "origin")
    check("adopt", "adopt", f"{plan}/single", "--merge")
    check("clean", "clean")
    check("archive", "archive", "--older-than", "0")
    check("status", "status", "--all")
    check("hooks-uninstall", "hooks", "uninstall")
    assert check.seen == set(OUTPUTS)
