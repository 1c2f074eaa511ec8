"""Under --json every failure is one JSON document on stdout (issue 21, point 4): a script reads
each outcome from stdout, with the same exit codes, while the text still goes to stderr."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conductor.cli import wants_json
from tests.scenario import Project


def error_of(out: str) -> dict[str, Any]:
    document = json.loads(out)  # one document, nothing else on stdout
    assert list(document) == ["error"]
    return dict(document["error"])


def test_a_failure_is_a_json_document_on_stdout_with_its_kind_and_hint(proj: Project, run_cli) -> None:
    result = run_cli("explain", "step_009", "--json")
    assert result.code == 1
    error = error_of(result.out)
    assert error["code"] == "not_found" and error["exit_code"] == 1
    assert "step_009" in error["message"] and error["hint"]
    assert "error: " in result.err  # the person watching still reads it


def test_a_usage_error_is_one_too_with_exit_2(proj: Project, run_cli) -> None:
    result = run_cli("status", "--no-such-option", "--json")
    assert result.code == 2
    error = error_of(result.out)
    assert (error["code"], error["exit_code"]) == ("usage", 2)
    assert "--no-such-option" in error["message"]


def test_a_bad_file_names_its_path_line_and_field(proj: Project, run_cli) -> None:
    (proj.root / "bad.yaml").write_text("goal: g\nsteps:\n  - title: t\n    instruction: i\n    nope: 1\n")
    result = run_cli("build", "--plan", "bad.yaml", "--exec", "true", "--json")
    assert result.code == 1
    error = error_of(result.out)
    assert error["code"] == "config" and error["path"].endswith("bad.yaml")
    assert error["line"] == 5 and "nope" in str(error["field"])


def test_without_json_stdout_stays_empty(proj: Project, run_cli) -> None:
    result = run_cli("explain", "step_009")
    assert result.code == 1 and result.out == ""


@pytest.mark.parametrize(
    ("args", "wanted"),
    [(["status", "--json"], True), (["status"], False), (["build", "--", "--json"], False)],
)
def test_json_is_asked_for_before_a_double_dash_only(args: list[str], wanted: bool) -> None:
    assert wants_json(args) is wanted
