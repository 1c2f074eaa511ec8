"""`conductor adopt`: a finished fork comes into a branch by fast-forward, merge or squash, with
the repository's hooks (the guard) applied, its trailers kept, and `plan.adopted` recorded."""

from __future__ import annotations

import json

import pytest

from conductor.ledger import refs
from tests.conftest import git
from tests.provenance.tamper import rewrite_tip
from tests.scenario import HELLO_STEPS, Project, build

HELLO = {
    "step_001": [{"write": {"hello.py": "def hello():\n    return 'hi'\n"}}],
    "step_002": [{"write": {"test_hello.py": "import hello\nassert hello.hello() == 'hi'\n"}}],
}


def built(proj: Project, run_cli) -> str:
    """A completed two-step plan on one fork, started from the checked-out branch."""
    result = build(run_cli, proj, proj.plan(HELLO_STEPS), proj.agent(HELLO))
    assert result.code == 0, result.err
    return proj.only_plan()


@pytest.fixture
def hello(prebuilt, run_cli) -> tuple[Project, str]:
    """A copy of a project where `built` ran (once per test process), and its plan."""

    def make(template: Project) -> None:
        built(template, run_cli)

    proj = prebuilt("built", make)
    return proj, proj.only_plan()


@pytest.fixture
def hooked(prebuilt, run_cli) -> tuple[Project, str]:
    """A copy of a project where Conductor's hooks were installed and then `built` ran (once per
    test process), and its plan."""

    def make(template: Project) -> None:
        assert run_cli("hooks", "install").code == 0
        built(template, run_cli)

    proj = prebuilt("hooked", make)
    return proj, proj.only_plan()


def head_branch(proj: Project) -> str:
    return git(proj.root, "symbolic-ref", "--short", "HEAD").strip()


def tip(proj: Project, ref: str) -> str:
    return git(proj.root, "rev-parse", ref).strip()


def adopted_events(proj: Project, plan: str) -> list[dict]:
    events = proj.ledger().log(refs.plan_log(plan), newest_first=False)
    return [e.data for e in events if e.type.value == "plan.adopted"]


def trailers(proj: Project, commit: str) -> list[tuple[str, str]]:
    message = git(proj.root, "log", "-1", "--format=%B", commit)
    parsed = git(proj.root, "interpret-trailers", "--parse", input=message)
    return [tuple(line.split(": ", 1)) for line in parsed.splitlines()]  # type: ignore[misc]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_fork_is_fast_forwarded_into_the_branch_the_plan_started_from(
    hello: tuple[Project, str], run_cli
) -> None:
    proj, plan = hello
    main = head_branch(proj)
    assert json.loads(proj.ledger().tip(refs.plan_log(plan)).read_text("plan.json"))["branch"] == main
    before = tip(proj, main)
    result = run_cli("adopt", plan, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    fork_tip = tip(proj, proj.branch(plan))
    assert report["into"] == main and report["strategy"] == "ff" and report["commit"] == fork_tip
    assert report["previous"] == before and len(report["steps"]) == 2
    assert tip(proj, main) == fork_tip and (proj.root / "test_hello.py").is_file()  # the checkout moved too
    assert git(proj.root, "status", "--porcelain").strip() == ""
    steps = [v for k, v in trailers(proj, main) if k == "Conductor-Step"]
    assert steps == ["step_002"]  # the step commits themselves, trailers and all
    (event,) = adopted_events(proj, plan)
    assert event["fork"] == "main" and event["into"] == main and event["strategy"] == "ff"
    assert event["commit"] == fork_tip
    assert proj.ledger().tip(refs.plan_log(plan)).event.state == "completed"  # unchanged
    again = run_cli("adopt", plan)
    assert again.code == 0 and "nothing to adopt" in again.out and "adopting" in again.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_branch_that_moved_on_is_merged_not_fast_forwarded(hooked: tuple[Project, str], run_cli) -> None:
    proj, plan = hooked
    main = head_branch(proj)
    (proj.root / "other.py").write_text("x = 1\n")
    git(proj.root, "add", "other.py")
    git(proj.root, "commit", "-q", "-m", "meanwhile")
    before = tip(proj, main)
    refused = run_cli("adopt", plan, "--ff")
    assert refused.code == 1 and "cannot be fast-forwarded" in refused.err and "--merge" in refused.err
    assert tip(proj, main) == before and adopted_events(proj, plan) == []
    merged = run_cli("adopt", f"{plan}/main", "--merge")
    assert merged.code == 0, merged.err
    assert "merged into" in merged.out
    parents = git(proj.root, "log", "-1", "--format=%P", main).split()
    assert parents == [before, tip(proj, proj.branch(plan))]
    subject = git(proj.root, "log", "-1", "--format=%s", main)
    assert subject.startswith(f"Merge conductor/{plan}/main:")
    assert ("Conductor-Plan", plan) in trailers(proj, main) and ("Conductor-Adopted", "merge") in trailers(
        proj, main
    )
    assert (proj.root / "hello.py").is_file() and (proj.root / "other.py").is_file()
    assert adopted_events(proj, plan)[0]["strategy"] == "merge"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_squash_is_one_commit_that_lists_each_step_and_its_provenance(
    hooked: tuple[Project, str], run_cli
) -> None:
    proj, plan = hooked
    main = head_branch(proj)
    before = tip(proj, main)
    result = run_cli("adopt", plan, "--squash", "--json")
    assert result.code == 0, result.err
    commit = json.loads(result.out)["commit"]
    assert tip(proj, main) == commit and git(proj.root, "log", "-1", "--format=%P", commit).split() == [
        before
    ]
    found = trailers(proj, commit)
    assert [v for k, v in found if k == "Conductor-Step"] == ["step_001", "step_002"]
    provenance = [v for k, v in found if k == "Conductor-Provenance"]
    step_commits = git(proj.root, "log", "--reverse", "--format=%H", f"{before}..{proj.branch(plan)}").split()
    recorded = [v for sha in step_commits for k, v in trailers(proj, sha) if k == "Conductor-Provenance"]
    assert provenance == recorded and len(provenance) == 2
    assert ("Conductor-Plan", plan) in found and ("Conductor-Adopted", "squash") in found
    body = git(proj.root, "log", "-1", "--format=%b", commit)
    assert "step_001: Create hello.py" in body and "step_002: Test hello.py" in body
    assert git(proj.root, "status", "--porcelain").strip() == ""
    assert run_cli("verify", plan).code == 0  # the fork's records still verify


def test_a_branch_that_is_not_checked_out_is_moved_directly(hello: tuple[Project, str], run_cli) -> None:
    proj, plan = hello
    main = head_branch(proj)
    git(proj.root, "branch", "release", f"{proj.branch(plan)}~2")
    before, checkout = tip(proj, "release"), tip(proj, main)
    result = run_cli("adopt", plan, "--into", "release", "--squash")
    assert result.code == 0, result.err
    assert git(proj.root, "log", "-1", "--format=%P", "release").split() == [before]
    assert git(proj.root, "show", "release:hello.py").startswith("def hello")
    assert tip(proj, main) == checkout and not (proj.root / "hello.py").exists()  # untouched
    assert "adopt" not in git(proj.root, "worktree", "list")  # the scratch worktree is gone
    ff = run_cli("adopt", plan, "--into", "release")
    assert ff.code == 1 and "cannot be fast-forwarded" in ff.err
    git(proj.root, "branch", "stable", before)
    assert run_cli("adopt", plan, "--into", "stable").code == 0
    assert tip(proj, "stable") == tip(proj, proj.branch(plan))
    assert [e["into"] for e in adopted_events(proj, plan)] == ["release", "stable"]


@pytest.mark.parametrize("into", [None, "release"])
def test_the_guard_refuses_a_squash_that_touches_a_protected_file(
    hooked: tuple[Project, str], run_cli, into: str | None
) -> None:
    proj, plan = hooked
    main = head_branch(proj)
    git(proj.root, "branch", "release", main)
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text().replace("    - '*.lock'\n", "    - '*.lock'\n    - 'hello.py'\n"))
    git(proj.root, "commit", "-q", "-am", "protect hello.py")  # a protection added after the plan ran
    git(proj.root, "branch", "-f", "release", main)
    before = {branch: tip(proj, branch) for branch in (main, "release")}
    result = run_cli("adopt", plan, "--squash", *(["--into", into] if into else []))
    assert result.code == 1
    assert "was refused" in result.err and "hello.py" in result.err
    assert {branch: tip(proj, branch) for branch in (main, "release")} == before
    assert git(proj.root, "status", "--porcelain").strip() == ""  # nothing left staged
    assert adopted_events(proj, plan) == []


def test_prune_deletes_the_other_forks_branches_and_keeps_their_logs(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    started = run_cli(
        "explore", "Add x.py", "--strategy", "one", "--strategy", "two", "--exec", command, "--yes"
    )
    assert started.code == 0, started.err
    plan = proj.only_plan()
    forks = proj.ledger().forks(plan)
    unnamed = run_cli("adopt", plan, "--prune")  # no verify command ran: no fork is recommended
    assert unnamed.code == 1 and f"conductor adopt {plan}/FORK" in unnamed.err
    result = run_cli("adopt", f"{plan}/{forks[0]}", "--prune", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    chosen = report["fork"]
    (other,) = [f for f in forks if f != chosen]
    assert report["chosen"] is None  # named, not recommended
    assert report["pruned"] == [f"conductor/{plan}/{other}"]
    assert git(proj.root, "branch", "--list", f"conductor/{plan}/{other}").strip() == ""
    assert git(proj.root, "branch", "--list", f"conductor/{plan}/{chosen}").strip() != ""
    assert proj.ledger().tip(refs.fork_log(plan, other)) is not None  # the log stays
    assert adopted_events(proj, plan)[0]["pruned"] == [f"conductor/{plan}/{other}"]


def test_a_plan_without_a_recorded_branch_goes_into_the_current_one(
    hello: tuple[Project, str], run_cli
) -> None:
    proj, plan = hello
    main = head_branch(proj)

    def older(data: bytes) -> bytes:
        record = json.loads(data)
        del record["branch"]
        return json.dumps(record).encode()

    rewrite_tip(proj.root, refs.plan_log(plan), "plan.json", older)
    result = run_cli("adopt", plan)
    assert result.code == 0, result.err
    assert f"did not record the branch it started from; adopting into {main}" in result.out
    assert tip(proj, main) == tip(proj, proj.branch(plan))


def test_errors_are_named_with_a_hint(hello: tuple[Project, str], run_cli) -> None:
    proj, plan = hello
    missing = run_cli("adopt", "no-such-plan")
    assert missing.code == 1 and "no plan 'no-such-plan'" in missing.err
    no_fork = run_cli("adopt", f"{plan}/nope")
    assert no_fork.code == 1 and "has no fork 'nope'" in no_fork.err and "its forks: main" in no_fork.err
    no_branch = run_cli("adopt", plan, "--into", "nowhere")
    assert no_branch.code == 1 and "no branch 'nowhere'" in no_branch.err
    (proj.root / "hello.py").write_text("mine\n")  # in the way of the fork's hello.py
    dirty = run_cli("adopt", plan, "--merge")
    assert (
        dirty.code == 1
        and f"uncommitted changes to files conductor/{plan}/main changes: hello.py" in dirty.err
    )
    assert "stash" in dirty.err and (proj.root / "hello.py").read_text() == "mine\n"
    (proj.root / "hello.py").unlink()
    (proj.root / "app.py").write_text("print('edited')\n")
    git(proj.root, "add", "app.py")
    staged = run_cli("adopt", plan, "--squash")
    assert staged.code == 1 and "has staged changes: app.py" in staged.err
    assert adopted_events(proj, plan) == []


def test_an_unfinished_fork_is_refused(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    assert run_cli("build", "Add x.py", "--exec", command).code == 1  # LOW: waits for approval
    plan = proj.only_plan()
    named = run_cli("adopt", f"{plan}/main")
    assert named.code == 1 and "is halted, not completed" in named.err
    assert f"conductor resume {plan}" in named.err
    recommended = run_cli("adopt", plan)
    assert recommended.code == 1 and "no fork of plan" in recommended.err


def test_the_help_names_the_strategies(run_cli) -> None:
    result = run_cli("adopt", "--help")
    assert result.code == 0
    assert "--ff" in result.out and "--merge" in result.out and "--squash" in result.out


def test_a_commit_written_into_the_fork_by_hand_meets_the_guard_on_a_merge(
    hooked: tuple[Project, str], run_cli
) -> None:
    proj, plan = hooked
    main = head_branch(proj)
    fork_tree = proj.worktree(plan)
    (fork_tree / "poetry.lock").write_text("changed by hand\n")  # '*.lock' is protected
    git(fork_tree, "commit", "-q", "--no-verify", "-am", "a hand-made change")
    (proj.root / "other.py").write_text("x = 1\n")
    git(proj.root, "add", "other.py")
    git(proj.root, "commit", "-q", "-m", "meanwhile")
    before = tip(proj, main)
    result = run_cli("adopt", plan, "--merge")
    assert result.code == 1 and "was refused" in result.err and "poetry.lock" in result.err
    assert tip(proj, main) == before and git(proj.root, "status", "--porcelain").strip() == ""
    assert not (proj.root / ".git" / "MERGE_HEAD").exists()


def test_a_conflict_is_left_to_the_person(hello: tuple[Project, str], run_cli) -> None:
    proj, plan = hello
    main = head_branch(proj)
    (proj.root / "hello.py").write_text("def hello():\n    return 'hello'\n")
    git(proj.root, "add", "hello.py")
    git(proj.root, "commit", "-q", "-m", "my own hello")
    before = tip(proj, main)
    result = run_cli("adopt", plan, "--squash")
    assert result.code == 1 and "does not merge cleanly" in result.err and "git merge" in result.err
    assert tip(proj, main) == before and git(proj.root, "status", "--porcelain").strip() == ""


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_plan_started_from_another_branch_goes_back_into_it(proj: Project, run_cli) -> None:
    main = head_branch(proj)
    name = proj.plan(HELLO_STEPS)
    git(proj.root, "branch", "release")
    git(proj.root, "tag", "v1")
    assert build(run_cli, proj, name, proj.agent(HELLO), "--base", "release").code == 0
    plan = proj.only_plan()
    assert json.loads(proj.ledger().tip(refs.plan_log(plan)).read_text("plan.json"))["branch"] == "release"
    checkout = tip(proj, main)
    result = run_cli("adopt", plan, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["into"] == "release" and tip(proj, "release") == tip(
        proj, proj.branch(plan)
    )
    assert tip(proj, main) == checkout
    assert build(run_cli, proj, name, proj.agent(HELLO), "--base", "v1").code == 0
    (tagged,) = [p for p in proj.ledger().plans() if p != plan]
    assert json.loads(proj.ledger().tip(refs.plan_log(tagged)).read_text("plan.json"))["branch"] is None
