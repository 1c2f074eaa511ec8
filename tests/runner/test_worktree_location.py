"""Fork worktrees live outside the repository, in the per-user state directory (or where the
project's policy says): nothing that walks up from a worktree finds the user's checkout, older
worktrees inside `.git/` move out, and clean, adopt and the sandbox follow them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor.project import private_state, state_home
from tests.conftest import SANDBOX_MODES, git
from tests.scenario import Project

ONE_FILE = {"title": "Write notes", "instruction": "Write notes.md", "allowed_files": ["notes.md"]}
NOTES = {"write": {"notes.md": "# notes\n"}}

# Walks up from where it runs, as pytest, node or an editor looks for its configuration, and
# says whether it met the user's checkout (a marker only the checkout has).
WALKER = """
import os, sys
from pathlib import Path
here = Path.cwd()
met = [str(p) for p in (here, *here.parents) if (p / "USER_CHECKOUT_MARKER").exists()]
Path("notes.md").write_text("met: " + (", ".join(met) or "nothing") + "\\n")
"""


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_a_worktree_is_outside_the_repository_and_walking_up_never_meets_the_checkout(
    proj: Project, run_cli, tmp_path: Path, sandbox: str
) -> None:
    proj.sandbox(sandbox)
    (proj.root / "USER_CHECKOUT_MARKER").write_text("the user's checkout\n")  # untracked
    walker = tmp_path / "walker.py"
    walker.write_text(WALKER)
    plan = proj.plan([ONE_FILE])

    result = run_cli("build", "--plan", plan, "--exec", f"python3 {walker}", "--yes")

    assert result.code == 0, result.err
    assert git(proj.root, "show", f"{proj.branch()}:notes.md") == "met: nothing\n"
    worktree = proj.worktree()
    assert worktree.is_dir() and not worktree.is_relative_to(proj.root)
    assert worktree.is_relative_to(state_home())
    assert str(worktree) in git(proj.root, "worktree", "list")
    # git, run in the worktree, finds the worktree: not the checkout
    assert git(worktree, "rev-parse", "--show-toplevel").strip() == str(worktree)


def test_a_worktree_an_older_version_made_inside_git_moves_out(proj: Project, run_cli) -> None:
    plan = proj.plan([ONE_FILE])
    halted = run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [NOTES]}))
    assert halted.code == 1 and "needs approval" in halted.err  # MEDIUM, no verify: a person decides
    new = proj.worktree()
    legacy = proj.root / ".git" / "conductor" / "worktrees" / proj.only_plan() / "main"
    legacy.parent.mkdir(parents=True)
    git(proj.root, "worktree", "move", str(new), str(legacy))  # where versions before 0.2 kept it
    assert not new.exists()

    approved = run_cli("approve", "step_001")

    assert approved.code == 0, approved.err
    assert not legacy.exists() and (new / "notes.md").read_text() == "# notes\n"
    assert [
        line for line in git(proj.root, "worktree", "list").splitlines() if ".git/conductor" in line
    ] == []


def test_the_policy_can_put_worktrees_elsewhere_but_never_inside_the_repository(
    proj: Project, run_cli, tmp_path: Path
) -> None:
    policy = proj.root / ".conductor" / "policy.yaml"
    original = policy.read_text()
    policy.write_text(original + "\nworkspace:\n  worktrees: build/worktrees\n")
    git(proj.root, "commit", "-qam", "worktrees inside")
    plan = proj.plan([ONE_FILE])

    inside = run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [NOTES]}), "--yes")

    assert inside.code == 1
    assert "workspace.worktrees: build/worktrees is inside the repository" in inside.err
    assert proj.ledger().plans() == []  # refused before anything was recorded

    elsewhere = tmp_path / "elsewhere"
    policy.write_text(original + f"\nworkspace:\n  worktrees: {elsewhere}\n")
    git(proj.root, "commit", "-qam", "worktrees elsewhere")
    built = run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [NOTES]}), "--yes")
    assert built.code == 0, built.err
    (made,) = elsewhere.glob("*/worktrees/*/main")
    assert (made / "notes.md").read_text() == "# notes\n"
    assert run_cli("clean").code == 0
    assert not made.exists()


def test_a_plan_cannot_move_the_worktrees(proj: Project, run_cli, tmp_path: Path) -> None:
    """A plan may come from a model: only the project's policy file places worktrees."""
    plan = proj.plan([ONE_FILE], policy={"workspace": {"worktrees": str(tmp_path / "chosen-by-a-plan")}})
    built = run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [NOTES]}), "--yes")
    assert built.code == 0, built.err
    assert not (tmp_path / "chosen-by-a-plan").exists()
    shown = json.loads(run_cli("policy", "--json").out)["values"]["workspace.worktrees"]
    assert shown == {"value": None, "origin": "default"}


def test_a_repository_holding_the_state_directory_keeps_worktrees_out_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository of the home directory (dotfiles) would hold ~/.local/state."""
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME")
    chosen = private_state(home, home / ".git")
    assert not chosen.is_relative_to(home)
    assert chosen.name.startswith("home-")


def test_clean_removes_a_finished_plans_worktrees_wherever_they_are(proj: Project, run_cli) -> None:
    plan = proj.plan([ONE_FILE])
    assert run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [NOTES]}), "--yes").code == 0
    worktree = proj.worktree()
    assert worktree.is_dir()
    cleaned = run_cli("clean", "--json")
    assert cleaned.code == 0, cleaned.err
    assert str(worktree) in json.loads(cleaned.out)[0]["removed"]
    assert not worktree.exists()
    assert str(worktree) not in git(proj.root, "worktree", "list")
