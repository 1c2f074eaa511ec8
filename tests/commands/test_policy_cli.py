"""`conductor policy` and `policy check` through the CLI, including every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import conductor_bin, run_process

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]
"""

BAD = {
    # name: (content, expected line, expected field, words in the message)
    "syntax": (
        "behavior:\n  max_diff_lines: 5\n  timeout_seconds: [1, 2\n",
        3,
        None,
        "flow sequence started on line 3",
    ),
    "tabs": ("behavior:\n\tmax_diff_lines: 5\n", 2, None, "invalid YAML"),
    "unknown_top": ("behaviour:\n  max_diff_lines: 5\n", 1, "behaviour", "unknown key"),
    "unknown_nested": ("behavior:\n  max_diff_line: 5\n", 2, "behavior.max_diff_line", "unknown key"),
    "wrong_type": ("behavior:\n  max_diff_lines: lots\n", 2, "behavior.max_diff_lines", "valid integer"),
    "quoted_number": (
        "behavior:\n  timeout_seconds: '300'\n",
        2,
        "behavior.timeout_seconds",
        "valid integer",
    ),
    "list_type": ("global_constraints: 'just one'\n", 1, "global_constraints", "valid list"),
    "item_type": (
        "file_rules:\n  protected_patterns:\n    - '*.lock'\n    - 42\n",
        4,
        "file_rules.protected_patterns.1",
        "valid string",
    ),
    "negative": (
        "behavior:\n  max_diff_lines: -10\n",
        2,
        "behavior.max_diff_lines",
        "greater than or equal to 1",
    ),
    "negative_timeout": (
        "\n\nbehavior:\n  timeout_seconds: -1\n",
        4,
        "behavior.timeout_seconds",
        "greater than",
    ),
    "bad_enum": ("provenance:\n  sign: sometimes\n", 2, "provenance.sign", "'auto', 'always' or 'never'"),
    "empty": ("", None, None, "file is empty"),
    "only_comments": ("# nothing here\n\n", None, None, "file is empty"),
    "billion_laughs": (BILLION_LAUGHS, 2, None, "aliases"),
    "duplicate": (
        "behavior:\n  max_diff_lines: 1\n  max_diff_lines: 2\n",
        3,
        "behavior.max_diff_lines",
        "appears twice",
    ),
    "not_mapping": ("- a\n- b\n", 1, None, "expected a mapping"),
    "section_not_mapping": ("behavior: 5\n", 1, "behavior", "valid dictionary"),
}


def _assert_clean_error(result, *, file: str, line: int | None, field: str | None, words: str) -> None:
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    assert result.err.startswith(f"error: {file}" + (f":{line}:" if line else ":")), result.err
    if field:
        assert f"(field '{field}')" in result.err, result.err
    assert words in result.err, result.err


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_policy_file_is_a_clear_error_in_policy_check(project: Path, run_cli, case: str) -> None:
    content, line, field, words = BAD[case]
    (project / ".conductor" / "policy.yaml").write_text(content, encoding="utf-8")
    for args in (["policy", "check"], ["policy"], ["policy", "--json"]):
        result = run_cli(*args)
        _assert_clean_error(result, file=".conductor/policy.yaml", line=line, field=field, words=words)


def test_policy_file_that_is_a_directory(project: Path, run_cli) -> None:
    policy = project / ".conductor" / "policy.yaml"
    policy.unlink()
    policy.mkdir()
    result = run_cli("policy", "check")
    _assert_clean_error(result, file=".conductor/policy.yaml", line=None, field=None, words="is a directory")


def test_policy_file_that_is_not_utf8(project: Path, run_cli) -> None:
    (project / ".conductor" / "policy.yaml").write_bytes(b"global_constraints:\n  - '\xff\xfe'\n")
    result = run_cli("policy", "check")
    _assert_clean_error(result, file=".conductor/policy.yaml", line=None, field=None, words="not UTF-8")


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_bad_policy_error_through_the_real_process(project: Path) -> None:
    (project / ".conductor" / "policy.yaml").write_text("behavior:\n  max_diff_lines: -1\n")
    result = run_process(conductor_bin(), "policy", "check", cwd=project)
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "error: .conductor/policy.yaml:2: Input should be greater than or equal to 1 "
        "(field 'behavior.max_diff_lines')"
    )
    verbose = run_process(conductor_bin(), "--verbose", "policy", "check", cwd=project)
    assert verbose.code == 1 and "Traceback" in verbose.err


def test_policy_check_names_another_file(project: Path, run_cli, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("behavior:\n  max_attempts: 0\n")
    result = run_cli("policy", "check", str(other))
    _assert_clean_error(result, file=str(other), line=2, field="behavior.max_attempts", words="greater than")
    other.write_text("behavior:\n  max_attempts: 3\n")
    ok = run_cli("policy", "check", str(other), "--json")
    assert ok.code == 0 and json.loads(ok.out) == {
        "path": str(other),
        "valid": True,
        "sets": ["behavior.max_attempts"],
    }
    missing = run_cli("policy", "check", str(tmp_path / "nope.yaml"))
    assert missing.code == 1 and "file not found" in missing.err


def test_policy_shows_values_with_origins(project: Path, run_cli) -> None:
    text = run_cli("policy")
    assert text.code == 0
    lines = text.out.splitlines()
    assert any(
        line.startswith("behavior.max_diff_lines:")
        and "500" in line
        and "# .conductor/policy.yaml:36" in line
        for line in lines
    )
    assert any("behavior.max_attempts:" in line and "# default" in line for line in lines)
    assert any(line.split()[:2] == ["sandbox.network:", "true"] for line in lines)  # as YAML writes it
    assert any("'*.lock'" in line and ".conductor/policy.yaml:14" in line for line in lines)
    data = json.loads(run_cli("policy", "--json").out)
    assert data["values"]["behavior.max_diff_lines"] == {"value": 500, "origin": ".conductor/policy.yaml:36"}
    assert {"value": "*.lock", "origin": ".conductor/policy.yaml:14"} in data["values"][
        "file_rules.protected_patterns"
    ]
    assert data["layers"] == ["default", ".conductor/policy.yaml"]
    check = run_cli("policy", "check")
    assert check.code == 0 and check.out.strip() == ".conductor/policy.yaml: valid"


def test_policy_outside_a_repository(tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("policy")
    assert result.code == 1 and "not a git repository" in result.err
