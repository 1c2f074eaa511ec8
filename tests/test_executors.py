"""The executors declare what the runner needs to know in one table (executors/registry.py):
every executor has a row, every row declares every capability, each executor class reads its
own row, and the command line's --executor choices are the table's."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path

import click
import pytest

import conductor.executors
from conductor.cli.app import cli
from conductor.executors.command import CommandExecutor
from conductor.executors.handoff import HandoffExecutor
from conductor.executors.preflight import CannotStart, Where
from conductor.executors.registry import KINDS, Capabilities, describe
from tests.conftest import PYTHON, run_process


def executor_classes() -> dict[str, type]:
    """Every class of conductor/executors/ that does steps (it has `execute`), by module.class."""
    found = {}
    for module_info in pkgutil.iter_modules(conductor.executors.__path__):
        module = importlib.import_module(f"conductor.executors.{module_info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            protocol = getattr(cls, "_is_protocol", False)  # base.Executor, the interface itself
            if cls.__module__ == module.__name__ and callable(getattr(cls, "execute", None)) and not protocol:
                found[f"{module_info.name}.{name}"] = cls
    return found


def test_every_capability_must_be_declared_none_has_a_default() -> None:
    for capability in dataclasses.fields(Capabilities):
        assert capability.default is dataclasses.MISSING, capability.name
        assert capability.default_factory is dataclasses.MISSING, capability.name


def test_every_executor_has_a_row_and_declares_every_capability_itself() -> None:
    classes = executor_classes()
    assert sorted(cls.name for cls in classes.values()) == sorted(KINDS)
    for where, cls in classes.items():
        # its own declaration, not one inherited (the agent executor is a command executor)
        assert "capabilities" in vars(cls), f"{where} declares no capabilities"
        assert cls.capabilities is KINDS[cls.name].capabilities, where
        assert isinstance(cls.scratch, tuple) and isinstance(cls.network_hosts, tuple), where
    for kind in KINDS.values():
        declared = dataclasses.asdict(kind.capabilities)
        assert sorted(declared) == sorted(f.name for f in dataclasses.fields(Capabilities))
        assert all(type(value) is bool for value in declared.values()), kind.name


OUT_THERE = Capabilities(starts_process=False, hands_out_files=True, sandboxed=False, uses_model=False)
A_PROCESS = Capabilities(starts_process=True, hands_out_files=False, sandboxed=True, uses_model=False)
IN_HERE = Capabilities(starts_process=False, hands_out_files=False, sandboxed=True, uses_model=False)
DECLARED = {
    "handoff": OUT_THERE,
    "mcp": OUT_THERE,
    "command": A_PROCESS,
    "agent": A_PROCESS,
    "llm": dataclasses.replace(IN_HERE, uses_model=True),
    "remote": IN_HERE,
}
"""What each executor is, row by row (a new executor states its row here too)."""


def test_the_capabilities_say_what_each_executor_is() -> None:
    """What the runner used to read from the names: the handoff and mcp executors hand tasks out
    to an agent nobody confines; the command and agent executors run a process of Conductor's;
    the model's edits and a worker's work run nothing unconfined here; only the llm executor is
    made with the model's settings (what resume read from the name `llm`)."""
    assert {name: kind.capabilities for name, kind in KINDS.items()} == DECLARED


def test_recorded_settings_are_named_by_their_row() -> None:
    assert describe({"executor": "command", "exec": "./agent.sh"}) == "command `./agent.sh`"
    assert describe({"executor": "agent", "agent": "aider", "model": "m"}) == "agent aider (m)"
    assert describe({"executor": "llm", "llm": {"provider": "gemini", "model": "x"}}) == "llm gemini/x"
    assert describe({"executor": "remote", "remote": "origin"}) == "remote origin"
    assert describe({}) == "handoff"


def test_every_executor_option_offers_the_tables_names() -> None:
    options = [
        param
        for command in cli.commands.values()
        for param in command.params
        if param.name == "executor" and isinstance(param.type, click.Choice)
    ]
    assert len(options) >= 3  # build, explore, resume, fork, revise…
    assert all(list(param.type.choices) == list(KINDS) for param in options)


def test_a_row_added_to_the_table_is_a_choice_of_the_command_line(tmp_path: Path) -> None:
    """Adding an executor is adding its row: the CLI reads its choices and help from the table."""
    code = (
        "from conductor.executors import registry\n"
        "registry.KINDS['pigeon'] = registry.Kind('pigeon', 'a carrier pigeon',"
        " registry.Capabilities(starts_process=False, hands_out_files=True, sandboxed=False,"
        " uses_model=False),"
        " lambda settings: 'pigeon')\n"
        "from conductor.cli import main\n"
        "main(['build', '--help'])\n"
    )
    result = run_process(PYTHON, "-c", code, cwd=tmp_path)
    out = " ".join(result.out.split())
    assert "[" + "|".join([*KINDS, "pigeon"]) + "]" in out
    assert "or a carrier pigeon (pigeon)" in out


def test_every_executor_has_a_preflight_the_launch_calls() -> None:
    """runner/plan/launch.py's check_start calls the Executor protocol's preflight, never asks
    whether there is one: each executor says what keeps it from starting, or that nothing can."""
    for where, cls in executor_classes().items():
        assert callable(getattr(cls, "preflight", None)), f"{where} has no preflight"
    nowhere = Where(Path("/nonexistent"), None, isolated=False)
    assert HandoffExecutor().preflight(nowhere) is None  # the agent outside starts itself
    with pytest.raises(CannotStart):
        CommandExecutor("/nonexistent/agent.sh").preflight(nowhere)
