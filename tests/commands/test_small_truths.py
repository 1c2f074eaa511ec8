"""Small truths a user reads (issue 12, point 11): what `verify` checks without a plan, step
numbers kept by `fork --from`, `clean` after `checkout`, the timeout as configured, plurals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor.ledger import refs
from tests.conftest import git
from tests.provenance.tamper import flip, rewrite_tip
from tests.scenario import HELLO_STEPS, Project, build

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}


def test_the_timeout_shown_is_the_one_configured(proj: Project, run_cli) -> None:
    steps = [{**HELLO_STEPS[0], "timeout_seconds": 300}]
    result = build(run_cli, proj, proj.plan(steps), proj.agent({"step_001": [HELLO]}))
    assert result.code == 0, result.err
    assert "(timeout 300s)" in result.err, result.err
    assert "timeout 299s" not in result.err


def test_one_of_a_thing_is_not_plural(proj: Project, run_cli) -> None:
    steps = [
        {"title": "Write a.txt", "instruction": "one line", "allowed_files": ["a.txt"], "verify": ["true"]}
    ]
    result = build(run_cli, proj, proj.plan(steps), proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}]}))
    assert result.code == 0, result.err
    assert "(1 line, " in result.err and "1 lines" not in result.err
    assert "fork main: 1 step, branch" in result.err and "step(s)" not in result.err
    compared = run_cli("compare")
    assert "1 line" in compared.out and "1 lines" not in compared.out
    plan = proj.only_plan()
    events = run_cli("events", "--plan", plan).out
    assert "all 1 step completed" in events and "all 1 steps" not in events
    assert "verified" in run_cli("verify", plan).out
    chain = json.loads(run_cli("verify", plan, "--json").out)["chains"][0]["detail"]
    assert chain.endswith("events, one chain, numbered without gaps")
    cleaned = run_cli("clean", plan)
    assert cleaned.code == 0 and "path(s)" not in cleaned.out


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_verify_without_a_plan_checks_every_plan(proj: Project, run_cli) -> None:
    first = build(
        run_cli, proj, proj.plan(HELLO_STEPS), proj.agent({"step_001": [HELLO], "step_002": [TEST]})
    )
    assert first.code == 0, first.err
    (old,) = proj.ledger().plans()
    steps = [{"title": "Write a.txt", "instruction": "a", "allowed_files": ["a.txt"]}]
    second = build(
        run_cli, proj, proj.plan(steps, name="a.yaml"), proj.agent({"*": [{"write": {"a.txt": "a\n"}}]})
    )
    assert second.code == 0, second.err
    (new,) = set(proj.ledger().plans()) - {old}
    ok = run_cli("verify")
    assert ok.code == 0, ok.out
    assert (
        f"plan {new}" in ok.out
        and f"plan {old}" in ok.out
        and ok.out.strip().endswith("all 2 plans verified")
    )
    # a record of the older plan changed: the latest still verifies, the run as a whole does not
    path = "completed/step_001.result.json"
    rewrite_tip(proj.root, refs.fork_log(old, "main"), path, lambda data: flip(data, 10))
    assert run_cli("verify", new).code == 0
    text = run_cli("verify")
    assert text.code == 1 and path in text.out
    assert text.out.index(f"plan {new}") < text.out.index(f"plan {old}")  # newest first, as status
    assert text.out.strip().endswith(f"1 of 2 plans failed: {old}")
    result = run_cli("verify", "--json")
    data = json.loads(result.out)
    assert result.code == 1 and data["ok"] is False
    assert [(p["plan"], p["ok"]) for p in data["plans"]] == [(new, True), (old, False)]
    assert json.loads(run_cli("verify", old, "--json").out)["plan"] == old  # one plan: its report
    fork = run_cli("verify", "--fork", "main")
    assert fork.code == 2 and "--fork needs a PLAN" in fork.err


def worktrees(proj: Project) -> list[str]:
    listing = git(proj.root, "worktree", "list", "--porcelain")
    return [line.removeprefix("worktree ") for line in listing.splitlines() if line.startswith("worktree ")]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_clean_removes_what_checkout_created(proj: Project, run_cli, tmp_path: Path) -> None:
    built = build(
        run_cli, proj, proj.plan(HELLO_STEPS), proj.agent({"step_001": [HELLO], "step_002": [TEST]})
    )
    assert built.code == 0, built.err
    plan = proj.only_plan()
    branches = git(proj.root, "for-each-ref", "--format=%(refname)", "refs/heads")
    first = json.loads(run_cli("checkout", f"{plan}/main@step_001", "--json").out)["path"]
    second = run_cli("checkout", f"{plan}/main@base", str(tmp_path / "before"))
    assert second.code == 0, second.err
    assert "or `conductor clean " in second.out
    changed = run_cli("checkout", f"{plan}/main", str(tmp_path / "mine"))
    assert changed.code == 0, changed.err
    (tmp_path / "mine" / "hello.py").write_text("my own change\n")  # work of the user's: kept
    assert {first, str(tmp_path / "before"), str(tmp_path / "mine")} <= set(worktrees(proj))

    result = run_cli("clean", plan, "--json")
    assert result.code == 0, result.err
    (cleaned,) = json.loads(result.out)
    assert {first, str(tmp_path / "before")} <= set(cleaned["removed"])
    assert cleaned["kept"] == [str(tmp_path / "mine")]
    assert not Path(first).exists() and not (tmp_path / "before").exists()
    assert (tmp_path / "mine" / "hello.py").read_text() == "my own change\n"
    assert set(worktrees(proj)) == {str(proj.root), str(tmp_path / "mine")}
    assert git(proj.root, "for-each-ref", "--format=%(refname)", "refs/heads") == branches

    again = run_cli("clean", plan)
    assert again.code == 0 and f"kept {tmp_path / 'mine'}" in again.out and "--force" in again.out
    git(proj.root, "worktree", "remove", "--force", str(tmp_path / "mine"))
    assert run_cli("clean", plan).out.strip() == "Nothing to clean."
    assert worktrees(proj) == [str(proj.root)]


THREE = [
    {"title": f"Write {name}", "instruction": f"Write {name}", "allowed_files": [name]}
    for name in ("a.txt", "b.txt", "c.txt")
]
WRITES = {
    f"step_00{i}": [{"write": {name: f"{name}\n"}}] for i, name in enumerate(("a.txt", "b.txt", "c.txt"), 1)
}


def accepted(proj: Project, plan: str) -> list[str]:
    return [e.step or "" for e in proj.events(plan) if e.type.value == "task.completed"]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_fork_from_a_step_keeps_the_step_numbers(proj: Project, run_cli) -> None:
    built = build(run_cli, proj, proj.plan(THREE), proj.agent(WRITES), "--json")
    assert built.code == 0, built.err
    old = json.loads(built.out)["plan"]
    result = run_cli(
        "fork", "--from", f"{old}/main@step_001", "--exec", proj.agent(WRITES), "--yes", "--json"
    )
    assert result.code == 0, result.err
    new = json.loads(result.out)["plan"]
    assert accepted(proj, new) == ["step_002", "step_003"]
    assert "): 2 steps, branch" in result.err and f"[{new}/main] step_002 (attempt 1)" in result.err
    # @step_002 is the same step in both plans: the same title, and here the same code
    for step in ("step_002", "step_003"):
        old_point = json.loads(
            run_cli("checkout", f"{old}/main@{step}", str(proj.scripts / f"o{step}"), "--json").out
        )
        new_point = json.loads(
            run_cli("checkout", f"{new}/main@{step}", str(proj.scripts / f"n{step}"), "--json").out
        )
        tree = [
            git(proj.root, "rev-parse", f"{point['commit']}^{{tree}}") for point in (old_point, new_point)
        ]
        assert tree[0] == tree[1]
    status = json.loads(run_cli("status", "--json").out)
    (forked,) = [p for p in status if p["plan"] == new]
    assert [s["step"] for s in forked["forks"][0]["steps"]] == ["step_002", "step_003"]
    explained = run_cli("explain", "step_003", "--plan", new)
    assert explained.code == 0 and "Write c.txt" in explained.out
    assert run_cli("verify", new).code == 0
    # before its first step, the new plan points back to where it came from
    before = run_cli("checkout", f"{new}/main@step_001")
    assert before.code == 1 and f"{new}/main starts at step_002" in before.err
    assert f"{old}/main@step_001" in before.err
    # a fork of the fork keeps them too
    again = run_cli("fork", "--from", f"{new}/main@step_002", "--exec", proj.agent(WRITES), "--yes", "--json")
    assert again.code == 0, again.err
    assert accepted(proj, json.loads(again.out)["plan"]) == ["step_003"]


def test_progress_of_forks_run_side_by_side_comes_in_whole_lines(proj: Project, run_cli) -> None:
    strategies = [arg for n in range(4) for arg in ("--strategy", f"way {n}")]
    script = proj.agent({"*": [{"write": {"x.txt": "x\n"}}]})
    result = run_cli("explore", "Add x.txt", *strategies, "--jobs", "4", "--exec", script, "--yes", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)["plan"]
    lines = result.err.splitlines()
    forks = [line for line in lines if f"[{plan}/" in line]
    assert len(forks) > 12  # each fork says several things
    assert all(line.startswith(f"[{plan}/") and line.count(f"[{plan}/") == 1 for line in forks), result.err
    assert {line.split("]")[0] for line in forks} == {f"[{plan}/way-{n}" for n in range(4)}
