"""`conductor init` with and without a name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor.models.loader import validate
from conductor.models.policy import PolicyFile
from conductor.models.source import read_file
from tests.conftest import git


def test_init_name_creates_a_repository_with_policy_and_first_commit(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "my-project")
    assert result.code == 0, result.err
    root = tmp_path / "my-project"
    assert "Created" in result.out and "cd my-project" in result.out
    assert git(root, "log", "--format=%s").splitlines() == ["Set up Conductor"]
    assert sorted(git(root, "ls-files").split()) == [".conductor/.gitignore", ".conductor/policy.yaml"]
    assert git(root, "status", "--porcelain") == ""
    policy = validate(read_file(root / ".conductor" / "policy.yaml"), PolicyFile)
    # the seed's example policy, without what this (empty) repository has no use for
    assert policy.global_constraints == ["Always include tests for new functions"]
    assert policy.file_rules is not None and policy.file_rules.protected_patterns == ["*.lock"]
    assert policy.behavior is not None
    assert (policy.behavior.max_diff_lines, policy.behavior.timeout_seconds) == (500, 300)
    ignore = (root / ".conductor" / ".gitignore").read_text()
    assert "handoff/" in ignore and "worktrees/" in ignore
    # the mailbox and worktrees are ignored by git
    (root / ".conductor" / "handoff" / "plan_x").mkdir(parents=True)
    (root / ".conductor" / "handoff" / "plan_x" / "t.json").write_text("{}")
    (root / ".conductor" / "worktrees").mkdir()
    (root / ".conductor" / "worktrees" / "f.py").write_text("")
    assert git(root, "status", "--porcelain") == ""


def test_init_name_refuses_an_existing_non_empty_directory(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("mine")
    result = run_cli("init", "taken")
    assert result.code == 1 and "already exists" in result.err
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["file.txt"]


def test_init_without_identity_falls_back_and_says_so(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "nohome"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    result = run_cli("init", "anon")
    assert result.code == 0, result.err
    assert "No git identity" in result.out
    assert git(tmp_path / "anon", "log", "--format=%an <%ae>").strip() == "Conductor <conductor@localhost>"


def test_init_in_existing_repo_touches_nothing_else_and_is_idempotent(repo: Path, run_cli) -> None:
    (repo / "notes.txt").write_text("uncommitted work\n")
    head = git(repo, "rev-parse", "HEAD")
    first = run_cli("init")
    assert first.code == 0
    assert "wrote .conductor/policy.yaml, .conductor/.gitignore" in first.out
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "notes.txt").read_text() == "uncommitted work\n"
    assert git(repo, "status", "--porcelain").splitlines() == ["?? .conductor/", "?? notes.txt"]
    policy_before = (repo / ".conductor" / "policy.yaml").read_text()
    second = run_cli("init", "--json")
    assert second.code == 0
    data = json.loads(second.out)
    assert data["written"] == [] and data["kept"] == [".conductor/policy.yaml", ".conductor/.gitignore"]
    assert (repo / ".conductor" / "policy.yaml").read_text() == policy_before
    assert "already set up" in run_cli("init").out


def test_init_keeps_an_existing_policy(repo: Path, run_cli) -> None:
    (repo / ".conductor").mkdir()
    (repo / ".conductor" / "policy.yaml").write_text("behavior:\n  max_attempts: 5\n")
    result = run_cli("init")
    assert result.code == 0
    assert "Kept existing .conductor/policy.yaml" in result.out
    assert (repo / ".conductor" / "policy.yaml").read_text() == "behavior:\n  max_attempts: 5\n"


def test_init_from_a_subdirectory_sets_up_the_repository_root(
    repo: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(repo / "src" / "pkg")
    assert run_cli("init").code == 0
    assert (repo / ".conductor" / "policy.yaml").exists()
    assert not (repo / "src" / "pkg" / ".conductor").exists()


def test_init_outside_a_repository_without_name_is_a_clear_error(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("init")
    assert result.code == 1
    assert "not a git repository" in result.err and "conductor init NAME" in result.err
    assert list(tmp_path.iterdir()) == []


def test_dash_c_runs_in_another_directory(tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("init", "p").code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_cli("-C", str(tmp_path / "p"), "policy", "--json")
    assert result.code == 0
    assert json.loads(result.out)["root"] == str((tmp_path / "p").resolve())


def active_lines(policy: Path) -> list[str]:
    """The lines of a policy file that are not comments."""
    return [line for line in policy.read_text().splitlines() if not line.strip().startswith("#")]


def test_init_writes_no_rule_about_directories_the_repository_does_not_have(repo: Path, run_cli) -> None:
    (repo / "src").mkdir()
    (repo / "src" / "core").mkdir()  # not the root's core/: the seed's '/core' is anchored
    result = run_cli("init")
    assert result.code == 0, result.err
    policy_file = repo / ".conductor" / "policy.yaml"
    assert not any("core" in line or "migrations" in line for line in active_lines(policy_file))
    # the examples stay, commented out, saying why
    text = policy_file.read_text()
    assert "# - 'Never modify files in /core'  (an example: this repository has no core/)" in text
    assert "# - 'migrations/*'  (an example: this repository has no migrations/)" in text
    shown = run_cli("policy", "--json")
    assert shown.code == 0, shown.err
    values = json.loads(shown.out)["values"]
    assert [v["value"] for v in values["global_constraints"]] == ["Always include tests for new functions"]
    patterns = [v["value"] for v in values["file_rules.protected_patterns"]]
    assert "*.lock" in patterns and not [p for p in patterns if "core" in p or "migrations" in p]
    assert "core" not in run_cli("policy").out
    assert run_cli("policy", "check").code == 0


def test_init_keeps_the_rules_for_directories_the_repository_has(repo: Path, run_cli) -> None:
    (repo / "core").mkdir()
    (repo / "core" / "engine.py").write_text("x = 1\n")
    (repo / "migrations").mkdir()
    result = run_cli("init")
    assert result.code == 0, result.err
    shown = json.loads(run_cli("policy", "--json").out)["values"]
    assert {"value": "Never modify files in /core", "origin": ".conductor/policy.yaml:7"} in shown[
        "global_constraints"
    ]
    assert {"value": "migrations/*", "origin": ".conductor/policy.yaml:15"} in shown[
        "file_rules.protected_patterns"
    ]
    assert "# if" not in (repo / ".conductor" / "policy.yaml").read_text()
