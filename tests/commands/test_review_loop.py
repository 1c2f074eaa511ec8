"""The whole review loop ends verified in a reviewer's fresh clone (issue 20): a plan is built,
revised after review comments, forked from one of its steps, opened as a pull request, then
adopted by squash with its branches pruned; the user pushes main and the ledger, and a
reviewer who clones and fetches the ledger as the docs say gets `conductor verify` exit 0 over
every plan — and a fork branch deleted by hand, or rewritten, still fails."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.commands.test_fork_provenance import THREE, WRITES, forked
from tests.conftest import git
from tests.scenario import Project, build


@pytest.fixture
def origin(proj: Project, tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(proj.root, "remote", "add", "origin", str(bare))
    git(proj.root, "push", "-q", "--no-verify", "origin", "HEAD:refs/heads/main")
    return bare


def reviewer_clone(origin: Path, where: Path, *fetch: str) -> Path:
    git(where.parent, "clone", "-q", str(origin), str(where))
    git(where, "fetch", "-q", "origin", "refs/conductor/*:refs/conductor/*", *fetch)
    return where


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_build_revise_fork_pr_adopt_and_prune_all_verify_in_a_reviewers_fresh_clone(
    proj: Project, origin: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build(run_cli, proj, proj.plan(THREE), proj.agent(WRITES), "--json")
    assert built.code == 0, built.err
    old = json.loads(built.out)["plan"]
    fix = {"step_004": [{"write": {"c.txt": "c, as the reviewer asked\n"}}]}
    revised = run_cli(
        "revise", f"{old}/main", "--comment", "c.txt: say why", "--exec", proj.agent(fix), "--yes"
    )
    assert revised.code == 0, revised.err
    new = forked(proj, run_cli, f"{old}/main@step_002", script={**WRITES, **fix})  # step_004 too

    opened = run_cli("pr", new)  # origin is not GitHub: pushed, and the description written
    assert opened.code == 0, opened.err
    fetch_line = next(line for line in opened.out.splitlines() if line.startswith("git fetch origin"))
    review = reviewer_clone(origin, tmp_path / "review")
    git(review, *shlex.split(fetch_line)[1:])
    monkeypatch.chdir(review)
    everything = run_cli("verify")
    assert everything.code == 0, everything.out
    assert "all 2 plans verified" in everything.out
    monkeypatch.chdir(proj.root)

    adopted = run_cli("adopt", new, "--squash", "--prune")
    assert adopted.code == 0, adopted.err
    git(proj.root, "push", "-q", "--no-verify", "origin", "main", "refs/conductor/*:refs/conductor/*")
    git(proj.root, "push", "-q", "--no-verify", "origin", f":refs/heads/conductor/{new}/main")

    # as docs/provenance.md fetches: the ledger and every fork branch there is
    monkeypatch.chdir(
        reviewer_clone(origin, tmp_path / "after", "refs/heads/conductor/*:refs/heads/conductor/*")
    )
    after = run_cli("verify", "--json")
    assert after.code == 0, after.out
    reports = {r["plan"]: r for r in json.loads(after.out)["plans"]}
    assert set(reports) == {old, new}
    assert all(s["ok"] for r in reports.values() for s in r["steps"])
    states = {c["state"] for r in reports.values() for c in r["branches"]}
    assert "missing" not in states and "adopted" in states, states


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_in_a_reviewers_clone_a_fork_branch_deleted_by_hand_or_rewritten_fails(
    proj: Project, origin: Path, tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = build(run_cli, proj, proj.plan(THREE), proj.agent(WRITES), "--json")
    assert built.code == 0, built.err
    plan = json.loads(built.out)["plan"]
    branch = f"conductor/{plan}/main"
    assert run_cli("pr", plan).code == 0
    review = reviewer_clone(origin, tmp_path / "review", f"{branch}:{branch}")
    monkeypatch.chdir(review)
    assert run_cli("verify").code == 0

    git(review, "branch", "-q", "-f", branch, f"{branch}~1")  # rewritten: the last step dropped
    rewritten = run_cli("verify", plan)
    assert rewritten.code == 1 and f"FAIL branch main: {branch} does not contain" in rewritten.out
    git(review, "branch", "-q", "-D", branch)  # deleted by hand: no adopt recorded it
    deleted = run_cli("verify", plan)
    assert deleted.code == 1 and "no `conductor adopt` recorded pruning or adopting it" in deleted.out
