"""Provenance follows `conductor fork --from` (issue 20, point 3): the new plan records where it
came from and the branch it is adopted into, `verify` checks the commits it inherits against
the old plan's records, and `pr` pushes those records and lists every step on the branch."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from conductor.ledger import refs
from tests.commands import test_pr
from tests.conftest import git
from tests.fakegithub import FakeGitHub
from tests.provenance.tamper import flip, rewrite_tip
from tests.scenario import Project, build

THREE = [
    {"title": f"Write {name}", "instruction": f"Write {name}", "allowed_files": [name]}
    for name in ("a.txt", "b.txt", "c.txt")
]
WRITES = {
    f"step_00{i}": [{"write": {name: f"{name}\n"}}] for i, name in enumerate(("a.txt", "b.txt", "c.txt"), 1)
}


remote, fake = test_pr.remote, test_pr.fake  # fixtures: a bare remote, a fake GitHub over it


def built(proj: Project, run_cli) -> str:
    """A completed plan of three steps, on the branch checked out."""
    result = build(run_cli, proj, proj.plan(THREE), proj.agent(WRITES), "--json")
    assert result.code == 0, result.err
    return str(json.loads(result.out)["plan"])


def forked(proj: Project, run_cli, point: str, *extra: str, script: dict[str, Any] = WRITES) -> str:
    result = run_cli("fork", "--from", point, "--exec", proj.agent(script), "--yes", "--json", *extra)
    assert result.code == 0, result.err
    return str(json.loads(result.out)["plan"])


def plan_json(proj: Project, plan: str) -> dict[str, Any]:
    return json.loads(proj.ledger().tip(refs.plan_log(plan)).read_text("plan.json"))


def step_commit(proj: Project, plan: str, step: str) -> str:
    (event,) = [e for e in proj.events(plan) if e.type.value == "task.completed" and e.step == step]
    return str(event.data["commit"])


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_fork_from_plan_records_its_origin_and_branch_and_verifies_what_it_inherits(
    proj: Project, run_cli
) -> None:
    main = git(proj.root, "symbolic-ref", "--short", "HEAD").strip()
    old = built(proj, run_cli)
    new = forked(proj, run_cli, f"{old}/main@step_002")
    record = plan_json(proj, new)
    assert record["branch"] == main  # the branch the old plan started from: adopted there
    assert record["origin"] == {
        "plan": old,
        "fork": "main",
        "step": "step_002",
        "commit": step_commit(proj, old, "step_002"),
    }
    result = run_cli("verify", new)
    assert result.code == 0, result.out
    assert f"inherited by {new} from {old}/main@step_002" in result.out
    for step in ("step_001", "step_002"):
        assert f"ok   {old}/main/{step} (attempt 1, unsigned), inherited" in result.out
    assert f"is {old}/main step_002's commit" in result.out
    assert "2 commits from" in result.out and result.out.strip().endswith("verified")
    (inherited,) = json.loads(run_cli("verify", new, "--json").out)["inherited"]
    assert inherited["ok"] and inherited["from"]["point"] == f"{old}/main@step_002"
    assert [s["step"] for s in inherited["steps"]] == ["step_001", "step_002"]

    # a fork of the fork inherits both: its origin's own step, and what that one inherited
    newer = forked(
        proj,
        run_cli,
        f"{new}/main@step_003",
        "--strategy",
        "again",
        script={"*": [{"write": {"d.txt": "d\n"}}]},
    )
    assert plan_json(proj, newer)["branch"] == main
    chained = json.loads(run_cli("verify", newer, "--json").out)
    assert chained["ok"], chained
    assert [(i["plan"], [s["step"] for s in i["steps"]]) for i in chained["inherited"]] == [
        (newer, ["step_003"]),
        (new, ["step_001", "step_002"]),
    ]

    # an inherited step whose record changed fails the plans that inherit it
    path = "completed/step_001.result.json"
    good = rewrite_tip(proj.root, refs.fork_log(old, "main"), path, lambda data: flip(data, 10))
    failed = run_cli("verify", new)
    assert failed.code == 1
    assert f"FAIL {old}/main/step_001 (attempt 1, unsigned), inherited" in failed.out and path in failed.out
    assert run_cli("verify", newer).code == 1
    git(proj.root, "update-ref", refs.fork_log(old, "main"), good)
    assert run_cli("verify", new).code == 0

    # adopted into the branch the old plan came from, without a guess
    adopted = run_cli("adopt", new, "--json")
    assert adopted.code == 0, adopted.err
    report = json.loads(adopted.out)
    assert report["into"] == main and report["notes"] == []


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_plan_whose_inherited_commit_was_rewritten_fails_verify(proj: Project, run_cli) -> None:
    old = built(proj, run_cli)
    accepted = step_commit(proj, old, "step_002")
    # step_002 rewritten: another b.txt, the same parent, message and trailers
    message = git(proj.root, "log", "-1", "--format=%B", accepted)
    git(proj.root, "checkout", "-q", "--detach", accepted)
    (proj.root / "b.txt").write_text("not what was accepted\n")
    git(proj.root, "commit", "-q", "-a", "--amend", "-m", message)
    forged = git(proj.root, "rev-parse", "HEAD").strip()
    git(proj.root, "checkout", "-q", "-")
    # a plan run on it for real (its own step attests), then said to be a fork of the old plan
    plan_file = proj.root / "c.yaml"
    plan_file.write_text(yaml.safe_dump({"goal": "c", "steps": [THREE[2]]}))
    result = run_cli(
        "build",
        "--plan",
        str(plan_file),
        "--base",
        forged,
        "--exec",
        proj.agent({"*": WRITES["step_003"]}),
        "--yes",
        "--json",
    )
    assert result.code == 0, result.err
    plan = str(json.loads(result.out)["plan"])
    assert run_cli("verify", plan).code == 0

    def claim(data: bytes) -> bytes:
        record = json.loads(data)
        record["source"] = f"fork:{old}/main@step_002"
        record["origin"] = {"plan": old, "fork": "main", "step": "step_002", "commit": forged}
        return json.dumps(record, indent=2).encode()

    rewrite_tip(proj.root, refs.plan_log(plan), "plan.json", claim)
    failed = run_cli("verify", plan)
    assert failed.code == 1, failed.out
    assert f"FAIL base: the base {forged[:12]}" in failed.out
    assert f"is not {old}/main step_002's commit {accepted[:12]}" in failed.out
    assert f"FAIL commits: 1 inherited commit attested by nothing: {forged[:12]}" in failed.out


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_pr_of_a_fork_from_plan_pushes_the_old_records_and_lists_every_step_on_the_branch(
    proj: Project, fake: FakeGitHub, remote: Path, tmp_path: Path, run_cli, monkeypatch
) -> None:
    old = built(proj, run_cli)
    new = forked(proj, run_cli, f"{old}/main@step_002")
    result = run_cli("pr", new, "--repo", "o/r", "--json")
    assert result.code == 0, result.err
    assert {refs.plan_log(old), refs.fork_log(old, "main"), refs.code_branch(old, "main")} <= set(
        json.loads(result.out)["pushed"]
    )
    told = run_cli("pr", new, "--repo", "o/r")  # again: the same pull request, updated
    assert told.code == 0, told.err
    assert f"pushed conductor/{new}/main (and conductor/{old}/main, which it was forked from)" in told.out
    pushed = test_pr.refs_in(remote)
    for ref in (
        refs.plan_log(old),
        refs.fork_log(old, "main"),
        refs.plan_log(new),
        refs.fork_log(new, "main"),
    ):
        assert ref in pushed
    body = fake.pulls("o", "r")[0]["body"]
    # the branch carries three commits: three steps, two of them the old plan's
    branch = f"conductor/{new}/main"
    assert len(git(proj.root, "rev-list", f"{plan_json(proj, old)['base']}..{branch}").split()) == 3
    assert f"3/3 steps accepted (2 inherited from `{old}/main`)" in body and "1/1 steps" not in body
    for step, title in (("step_001", "Write a.txt"), ("step_002", "Write b.txt")):
        assert f"| {step} | {title} |" in body and f"inherited from {old}/main {step} |" in body
        assert f"| {step} | `{step_commit(proj, old, step)[:12]}` | `sha256:" in body  # its provenance
    assert (
        "| step_003 | Write c.txt |" in body
        and f"| step_003 | `{step_commit(proj, new, 'step_003')[:12]}`" in body
    )
    # a reviewer's fresh clone, fetching what the description says, verifies all of it
    clone = tmp_path / "reviewer"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    fetch = next(line for line in body.splitlines() if line.startswith("git fetch origin"))
    git(clone, *shlex.split(fetch)[1:])
    monkeypatch.chdir(clone)
    verified = run_cli("verify", new)
    assert verified.code == 0, verified.out
    assert f"ok   {old}/main/step_001 (attempt 1, unsigned), inherited" in verified.out
    # and so does every plan the clone holds: the old plan's records came with the new one's
    everything = run_cli("verify")
    assert everything.code == 0, everything.out
    assert "all 2 plans verified" in everything.out


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_fork_from_a_branch_tip_inherits_its_steps_and_one_from_base_none(proj: Project, run_cli) -> None:
    old = built(proj, run_cli)
    other = {"*": [{"write": {"d.txt": "d\n"}}]}
    tip = forked(proj, run_cli, f"{old}/main", "--strategy", "on top", script=other)
    # the tip is step_003's commit: recorded as that step, so its records attest all three
    assert plan_json(proj, tip)["origin"]["step"] == "step_003"
    (inherited,) = json.loads(run_cli("verify", tip, "--json").out)["inherited"]
    assert inherited["ok"] and [s["step"] for s in inherited["steps"]] == ["step_001", "step_002", "step_003"]
    base = forked(proj, run_cli, f"{old}/main@base", "--strategy", "anew", script=other)
    result = run_cli("verify", base)
    assert result.code == 0, result.out
    assert f"is {old}'s base" in result.out and "no commit inherited" in result.out
    assert ", inherited" not in result.out
