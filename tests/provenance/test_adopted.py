"""`conductor verify` after the review loop (`adopt --squash --prune`): pruned and adopted forks
are verified from their records and the commits adopt kept under refs/conductor/kept/, also in
a reviewer's fresh clone; a branch deleted by hand, or rewritten, still fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conductor.ledger import refs
from tests.conftest import git
from tests.scenario import Project


@pytest.fixture
def explored(proj: Project, run_cli) -> tuple[str, str, str]:
    """A plan with two completed forks of one step each: (plan, the fork to adopt, the other)."""
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    started = run_cli(
        "explore", "Add x.py", "--strategy", "one", "--strategy", "two", "--exec", command, "--yes"
    )
    assert started.code == 0, started.err
    plan = proj.only_plan()
    assert proj.ledger().forks(plan) == ["one", "two"]
    return plan, "one", "two"


def verify(run_cli: Any, *args: str) -> tuple[int, dict[str, Any]]:
    """`conductor verify --json` over every plan: the exit code and the one plan's report."""
    result = run_cli("verify", *args, "--json")
    (report,) = json.loads(result.out)["plans"]
    return result.code, report


def branches(report: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """fork -> (state, ok) of each branch check."""
    return {c["check"].removeprefix("branch "): (c["state"], c["ok"]) for c in report["branches"]}


def test_a_squashed_and_pruned_plan_verifies_here_and_in_a_fresh_clone(
    proj: Project, run_cli, explored: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, chosen, other = explored
    adopted = run_cli("adopt", f"{plan}/{chosen}", "--squash", "--prune")
    assert adopted.code == 0, adopted.err
    assert f"their commits are kept under refs/conductor/kept/{plan}/" in adopted.out
    listed = git(proj.root, "for-each-ref", "--format=%(refname:short)", f"refs/heads/conductor/{plan}/")
    assert listed.split() == [f"conductor/{plan}/{chosen}"]
    pruned = proj.events(plan, other)[-1]
    assert pruned.type.value == "fork.pruned" and pruned.state == "completed"
    assert pruned.data["kept"] == refs.kept(plan, other) and pruned.data["adopted"] == chosen

    code, report = verify(run_cli)
    assert code == 0, report
    assert branches(report) == {chosen: ("branch", True), other: ("pruned", True)}
    assert {s["fork"] for s in report["steps"]} == {chosen, other}
    assert all(s["ok"] for s in report["steps"])
    text = run_cli("verify", plan)
    assert text.code == 0 and text.out.strip().endswith("verified")
    assert (
        f"ok   branch {other}: pruned by `conductor adopt --prune` when fork {chosen} was adopted" in text.out
    )
    assert f"ok   branch {chosen}: adopted into main (squash, " in text.out

    # a reviewer's clone: the main branch and the ledger, no fork branch
    clone = tmp_path / "review"
    git(
        tmp_path,
        "clone",
        "-q",
        "--no-local",
        "--single-branch",
        "--branch",
        "main",
        str(proj.root),
        str(clone),
    )
    git(clone, "fetch", "-q", "origin", "refs/conductor/*:refs/conductor/*")
    assert git(clone, "branch", "--list", "conductor/*").strip() == ""
    monkeypatch.chdir(clone)
    code, report = verify(run_cli)
    assert code == 0, report
    assert branches(report) == {chosen: ("adopted", True), other: ("pruned", True)}
    commits = {c["detail"] for s in report["steps"] for c in s["checks"] if c["check"] == "commit"}
    assert all(f"in refs/conductor/kept/{plan}/" in detail for detail in commits), commits


def test_a_branch_deleted_by_hand_or_rewritten_still_fails(
    proj: Project, run_cli, explored: tuple[str, str, str]
) -> None:
    plan, chosen, other = explored
    git(proj.root, "update-ref", "-d", f"refs/heads/conductor/{plan}/{other}")  # deleted by hand
    adopted = run_cli("adopt", f"{plan}/{chosen}", "--squash", "--prune")
    assert adopted.code == 0, adopted.err  # nothing left to prune: no event, nothing kept
    assert "fork.pruned" not in {e.type.value for e in proj.events(plan, other)}
    code, report = verify(run_cli)
    assert code == 1
    assert branches(report) == {chosen: ("branch", True), other: ("missing", False)}
    (deleted,) = [c["detail"] for c in report["branches"] if not c["ok"]]
    assert deleted.startswith(f"conductor/{plan}/{other} does not exist, and no `conductor adopt` recorded")

    # the adopted fork's branch rewritten: its last step is not on it any more
    worktree = proj.worktree(plan, chosen)
    (worktree / "x.py").write_text("x = 2\n")
    git(worktree, "commit", "-q", "-a", "--amend", "--no-edit")
    code, report = verify(run_cli)
    assert code == 1 and branches(report)[chosen] == ("branch", False)
    assert {
        c["check"] for s in report["steps"] if s["fork"] == chosen for c in s["checks"] if not c["ok"]
    } == {"commit"}

    # and once it is gone too, the tip adopt kept is what counts: moved, it fails
    kept = refs.kept(plan, chosen)
    recorded = git(proj.root, "rev-parse", kept).strip()
    git(proj.root, "worktree", "remove", "--force", str(worktree))
    git(proj.root, "branch", "-D", f"conductor/{plan}/{chosen}")
    assert branches(verify(run_cli)[1])[chosen] == ("adopted", True)
    git(proj.root, "update-ref", kept, f"{recorded}~1")
    code, report = verify(run_cli)
    assert code == 1 and branches(report)[chosen] == ("missing", False)
    (moved,) = [c["detail"] for c in report["branches"] if c["check"] == f"branch {chosen}"]
    assert f"{kept} points at " in moved and f"not at {recorded[:12]}" in moved
