"""How a new plan starts, through the CLI: who does the steps (never a silent wait for nobody),
which commit it starts from (`--base REF`, else HEAD), and what of the user's checkout it
does not see."""

from __future__ import annotations

import json

import pytest

from tests.conftest import git
from tests.scenario import Project, build

STEPS = [{"title": "Write x.txt", "instruction": "Write x.txt", "allowed_files": ["x.txt"]}]
WRITE_X = {"*": [{"write": {"x.txt": "x\n"}}]}


def nothing_recorded(proj: Project) -> bool:
    refs = git(proj.root, "for-each-ref", "--format=%(refname)", "refs/conductor/", "refs/heads/conductor/")
    return proj.ledger().plans() == [] and refs == ""


def test_no_model_and_no_executor_is_an_error_that_lists_the_three_ways(proj: Project, run_cli) -> None:
    plan = proj.plan(STEPS)
    for args in (
        ("build", "Add x.txt"),
        ("build", "--plan", plan, "--yes"),
        ("explore", "Add x.txt", "--strategy", "one way", "--strategy", "another"),
    ):
        result = run_cli(*args)
        assert result.code == 1, args
        assert "error: no model is configured and no executor was given" in result.err
        hint = result.err.split("hint:", 1)[1]
        assert "GEMINI_API_KEY" in hint and "--llm openai --base-url" in hint
        assert '--exec "CMD"' in hint and "--executor handoff" in hint
        assert "waiting" not in result.err and result.out == ""
        assert nothing_recorded(proj)


def test_a_fork_without_an_executor_is_the_same_error(proj: Project, run_cli) -> None:
    first = build(run_cli, proj, proj.plan(STEPS), proj.agent(WRITE_X), "--json")
    assert first.code == 0, first.err
    old = json.loads(first.out)["plan"]
    result = run_cli("fork", "--from", f"{old}/main@base")
    assert result.code == 1 and "no executor was given" in result.err and "--executor handoff" in result.err
    assert proj.ledger().plans() == [old]


def test_base_chooses_the_commit_the_plan_and_its_branch_start_from(proj: Project, run_cli) -> None:
    first = git(proj.root, "rev-parse", "HEAD").strip()
    (proj.root / "later.txt").write_text("later\n")
    git(proj.root, "add", "later.txt")
    git(proj.root, "commit", "-q", "-m", "later")
    result = run_cli(
        "build", "Add x.txt", "--base", "HEAD~1", "--exec", proj.agent(WRITE_X), "--yes", "--json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["base"] == first
    recorded = json.loads(git(proj.root, "show", f"refs/conductor/plans/{data['plan']}:plan.json"))
    assert recorded["base"] == first
    branch = proj.branch(data["plan"])
    assert git(proj.root, "rev-list", "--parents", "-1", branch).split()[1] == first
    files = git(proj.root, "ls-tree", "--name-only", branch).split()
    assert "x.txt" in files and "later.txt" not in files
    assert f"base {first[:12]}" in result.err
    assert "uncommitted" not in result.err


def test_explore_starts_every_fork_at_the_base_an_annotated_tag_names(proj: Project, run_cli) -> None:
    tagged = git(proj.root, "rev-parse", "HEAD").strip()
    git(proj.root, "tag", "-a", "-m", "release", "v1")
    (proj.root / "later.txt").write_text("later\n")
    git(proj.root, "add", "later.txt")
    git(proj.root, "commit", "-q", "-m", "later")
    result = run_cli(
        "explore",
        "Add x.txt",
        "--strategy",
        "short",
        "--strategy",
        "long",
        "--base",
        "v1",
        "--exec",
        proj.agent(WRITE_X),
        "--yes",
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["base"] == tagged
    for fork in ("short", "long"):
        branch = proj.branch(data["plan"], fork)
        assert git(proj.root, "rev-list", "--parents", "-1", branch).split()[1] == tagged


def test_an_unknown_base_is_named_and_nothing_is_recorded(proj: Project, run_cli) -> None:
    for ref in ("no-such-branch", "HEAD~40", "-x"):
        result = run_cli("build", "Add x.txt", "--base", ref, "--exec", "true")
        assert result.code == 1, ref
        assert f"--base {ref}: no such commit" in result.err
        assert "hint:" in result.err and "branch, a tag or a commit" in result.err
    assert nothing_recorded(proj)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_dirty_checkout_is_mentioned_when_the_plan_starts_from_head(proj: Project, run_cli) -> None:
    (proj.root / ".gitignore").write_text("*.log\n")
    git(proj.root, "add", ".gitignore")
    git(proj.root, "commit", "-q", "-m", "ignore logs")
    head = git(proj.root, "rev-parse", "HEAD").strip()
    (proj.root / "app.py").write_text("print('changed')\n")  # modified
    (proj.root / "staged.txt").write_text("staged\n")
    git(proj.root, "add", "staged.txt")  # staged
    (proj.root / "notes").mkdir()
    (proj.root / "notes" / "todo.txt").write_text("untracked\n")  # untracked
    (proj.root / "debug.log").write_text("ignored\n")  # ignored: not mentioned
    # Conductor's own files are not the user's changes, even where git shows them
    (proj.root / ".conductor" / ".gitignore").unlink()
    (proj.root / ".conductor" / "handoff").mkdir(exist_ok=True)
    (proj.root / ".conductor" / "handoff" / "stray.task.json").write_text("{}\n")
    command = proj.agent(WRITE_X)
    result = run_cli("build", "Add x.txt", "--exec", command, "--yes", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["base"] == head  # stdout stays JSON
    notes = [line for line in result.err.splitlines() if "uncommitted" in line]
    assert notes == [
        f"note: your checkout has uncommitted changes (3 files); the plan starts from HEAD {head[:12]}"
        " and does not see them — commit them or use --base"
    ]
    # --base says where to start: nothing to mention
    chosen = run_cli("build", "Add x.txt", "--base", "HEAD", "--exec", command, "--yes")
    assert chosen.code == 0, chosen.err
    assert "uncommitted" not in chosen.err
    # one file, and a clean checkout
    git(proj.root, "add", "-A", "--", ".", ":!app.py", ":!.conductor")
    git(proj.root, "commit", "-q", "-m", "commit the rest")
    one = run_cli("build", "Add x.txt", "--exec", command, "--yes")
    assert "uncommitted changes (1 file);" in one.err
    git(proj.root, "commit", "-q", "-am", "and app.py")
    clean = run_cli("build", "Add x.txt", "--exec", command, "--yes")
    assert clean.code == 0, clean.err
    assert "uncommitted" not in clean.err


def test_the_note_names_only_uncommitted_files_the_plan_may_change(proj: Project, run_cli) -> None:
    """A plan's launch looks only where its allowed_files can be (issue 21, point 7: no whole-tree
    `git status` of a big checkout for a plan that changes one folder)."""
    plan = proj.plan([{"title": "x", "instruction": "x", "allowed_files": ["x.txt", "src/**/*.py", "docs/"]}])
    (proj.root / "app.py").write_text("print('changed')\n")  # not the plan's: not mentioned
    (proj.root / "lib").mkdir()
    (proj.root / "lib" / "new.py").write_text("new\n")
    command = proj.agent(WRITE_X)
    quiet = build(run_cli, proj, plan, command)
    assert quiet.code == 0, quiet.err
    assert "uncommitted" not in quiet.err
    (proj.root / "x.txt").write_text("mine\n")
    (proj.root / "src" / "deep").mkdir(parents=True)
    (proj.root / "src" / "deep" / "mod.py").write_text("mine\n")
    (proj.root / "src" / "notes.txt").write_text("not a .py\n")
    (proj.root / "docs").mkdir()
    (proj.root / "docs" / "a.md").write_text("mine\n")
    noted = build(run_cli, proj, plan, command)
    assert noted.code == 0, noted.err
    assert "uncommitted changes (3 files);" in noted.err, noted.err
