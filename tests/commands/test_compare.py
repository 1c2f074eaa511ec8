"""`conductor compare` and `conductor diff`: the comparison of an explore is recorded in the plan
log when a run ends (again after approve and resume), shown at any time, and two forks'
branches are diffed through git."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml

from conductor.ledger import refs
from conductor.models.event import Event, EventType
from conductor.models.layout import StepPaths
from tests.conftest import Result, git
from tests.provenance.tamper import rewrite_tip
from tests.scenario import TWO_FORKS, Project

Prebuilt = Callable[[str, Callable[[Project], None]], Project]

SCRIPT = {
    "step_001": [{"write": {"notes.md": "# notes\n"}}],
    "step_002": [{"write": {"more.md": "more\nand more\n"}}],
}


@pytest.fixture
def explored(prebuilt: Prebuilt, run_cli) -> tuple[Project, str]:
    """A copy of a project where TWO_FORKS was explored to the end (made once per test process,
    as the current directory): (the project, its plan)."""

    def make(proj: Project) -> None:
        (proj.root / "forks.yaml").write_text(yaml.safe_dump(TWO_FORKS, sort_keys=False))
        git(proj.root, "add", "forks.yaml")
        git(proj.root, "commit", "-q", "-m", "forks")
        result = run_cli("explore", "--plan", "forks.yaml", "--exec", proj.agent(SCRIPT), "--yes", "--json")
        assert result.code == 0, result.err

    proj = prebuilt("explored", make)
    return proj, proj.only_plan()


@pytest.fixture
def halted(prebuilt: Prebuilt, run_cli) -> tuple[Project, str, Result]:
    """A copy of a project where `explore "Add x.py"` with two strategies halted, both forks
    waiting for approval of step_001 (made once per test process, as the current directory):
    (the project, its plan, what the explore said)."""

    def make(proj: Project) -> None:
        command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
        started = run_cli(
            "explore", "Add x.py", "--strategy", "one way", "--strategy", "another", "--exec", command
        )
        (proj.scripts / "started.json").write_text(json.dumps(vars(started)))

    proj = prebuilt("halted", make)
    return proj, proj.only_plan(), Result(**json.loads((proj.scripts / "started.json").read_text()))


def plan_events(proj: Project, plan: str) -> list[Event]:
    return list(proj.ledger().log(refs.plan_log(plan), newest_first=False))


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_compare_shows_the_comparison_recorded_when_explore_ended(
    explored: tuple[Project, str], run_cli
) -> None:
    proj, plan = explored
    events = plan_events(proj, plan)
    assert events[-1].type is EventType.PLAN_COMPARED and events[-1].state == "completed"
    record = json.loads(git(proj.root, "show", f"{refs.plan_log(plan)}:comparison.json"))
    assert sorted(f["fork"] for f in record["forks"]) == ["long", "short"]
    assert record["recommended"] == "long" and record["tips"].keys() == {"short", "long"}

    shown = run_cli("compare")  # the latest plan
    assert shown.code == 0, shown.err
    assert f"plan {plan}: completed" in shown.out
    assert f"recorded in the plan log at {events[-1].time} (plan.compared)" in shown.out
    rows = [line.split()[:3] for line in shown.out.splitlines() if line.startswith("  ")]
    assert ["fork", "status", "steps"] in rows and ["long", "completed", "2/2"] in rows
    assert f"Recommended: long — {record['reason']}" in shown.out
    assert f"conductor diff {plan}/short {plan}/long" in shown.out
    data = json.loads(run_cli("compare", plan, "--json").out)
    assert data["source"] == "recorded" and data["recorded_at"] == events[-1].time
    assert data["recommended"] == "long"
    # the record keeps its own format (a fork's `status`); the output says `state`, as every --json
    assert [{k: v for k, v in f.items() if k != "state"} for f in data["forks"]] == [
        {k: v for k, v in f.items() if k != "status"} for f in record["forks"]
    ]
    assert [f["state"] for f in data["forks"]] == [f["status"] for f in record["forks"]]

    # A fork log that moves makes the record out of date: computed now, and said so.
    proj.ledger().append(
        refs.fork_log(plan, "long"), Event(EventType.NOTE, plan=plan, fork="long", summary="x")
    )
    fresh = json.loads(run_cli("compare", plan, "--json").out)
    assert fresh["source"] == "computed" and fresh["recorded_at"] is None
    assert "moved on since the comparison recorded" in fresh["note"] and "fork long changed" in fresh["note"]
    assert fresh["recommended"] == "long"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_diff_between_two_forks_and_against_the_base(explored: tuple[Project, str], run_cli) -> None:
    _, plan = explored
    between = run_cli("diff", f"{plan}/short", f"{plan}/long", "--json")
    assert between.code == 0, between.err
    data = json.loads(between.out)
    assert data["files"] == [{"path": "more.md", "added": 2, "removed": 0, "binary": False}]
    assert data["from"]["point"] == f"{plan}/short" and data["to"]["point"] == f"{plan}/long"
    patch = run_cli("diff", f"{plan}/short", f"{plan}/long")
    assert "diff --git a/more.md b/more.md" in patch.out and "+and more" in patch.out
    assert "\x1b[" not in patch.out  # no colour when stdout is not a terminal
    assert "\x1b[" in run_cli("diff", f"{plan}/short", f"{plan}/long", "--color").out
    stat = run_cli("diff", f"{plan}/long", "--stat")  # against the plan's base
    assert "more.md" in stat.out and "notes.md" in stat.out and "2 files changed" in stat.out
    alone = json.loads(run_cli("diff", f"{plan}/long", "--json").out)
    assert [f["path"] for f in alone["files"]] == ["more.md", "notes.md"]
    assert alone["from"]["point"] == f"{plan}/long@base"
    same = run_cli("diff", f"{plan}/short", f"conductor/{plan}/short")
    assert same.code == 0 and same.out == f"no difference between {plan}/short and {plan}/short\n"


def test_unknown_plans_and_forks_are_named(explored: tuple[Project, str], run_cli) -> None:
    _, plan = explored
    missing = run_cli("diff", "nope/short", f"{plan}/long")
    assert missing.code == 1 and "no plan 'nope'" in missing.err and plan in missing.err
    no_fork = run_cli("diff", f"{plan}/medium")
    assert no_fork.code == 1 and f"plan {plan} has no fork medium" in no_fork.err
    assert "its forks: long, short" in no_fork.err
    bad = run_cli("diff", plan)
    assert bad.code == 1 and "is not a point in a plan" in bad.err
    unknown = run_cli("compare", "nope")
    assert unknown.code == 1 and "no plan 'nope'" in unknown.err


def test_a_halted_explore_is_compared_again_after_approve_and_resume(
    halted: tuple[Project, str, Result], run_cli
) -> None:
    proj, plan, started = halted
    assert started.code == 1  # both wait for approval
    assert f"Again later: conductor compare {plan}" in started.out
    first = json.loads(run_cli("compare", "--json").out)
    assert first["source"] == "recorded" and first["state"] == "halted" and first["recommended"] is None
    assert "No fork to recommend" in run_cli("compare").out

    approved = run_cli("approve", "step_001", "--plan", plan, "--fork", "one-way")
    assert approved.code == 1, approved.err  # the other fork still waits
    compared = [e for e in plan_events(proj, plan) if e.type is EventType.PLAN_COMPARED]
    assert len(compared) == 2 and compared[-1].data["recommended"] == "one-way"
    again = json.loads(run_cli("compare", "--json").out)
    assert again["source"] == "recorded" and again["recommended"] == "one-way"
    assert again["recorded_at"] == compared[-1].time

    run_cli("approve", "step_001", "--plan", plan, "--fork", "another")
    last = plan_events(proj, plan)[-1]
    assert last.type is EventType.PLAN_COMPARED and last.state == "completed"
    assert run_cli("resume", plan).code == 0  # nothing to run: nothing recorded again
    assert plan_events(proj, plan)[-1].commit == last.commit


def test_a_plan_with_one_fork_shows_its_summary_and_records_nothing(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    assert run_cli("build", "Add x.py", "--exec", command, "--yes").code == 0
    plan = proj.only_plan()
    shown = run_cli("compare")
    assert shown.code == 0, shown.err
    assert "one fork: nothing to compare" in shown.out
    assert ["main", "completed", "1/1"] in [line.split()[:3] for line in shown.out.splitlines()]
    assert "Recommended" not in shown.out
    assert all(e.type is not EventType.PLAN_COMPARED for e in plan_events(proj, plan))


def test_forks_waiting_for_approval_are_said_to_wait_and_every_hint_names_the_fork(
    halted: tuple[Project, str, Result], run_cli
) -> None:
    proj, plan, started = halted
    assert started.code == 1  # both wait for approval
    said = "no fork completed: forks another and one-way wait for approval of step_001"
    assert f"No fork to recommend: {said}" in started.out
    assert "failed" not in started.out  # nothing failed
    rows = [line.split()[:3] for line in started.out.splitlines() if line.startswith("  ")]
    assert ["another", "awaiting", "approval"] in rows and ["one-way", "awaiting", "approval"] in rows
    for fork in ("another", "one-way"):
        approve = f"conductor approve step_001 --plan {plan} --fork {fork}"
        assert f"Decide: {approve}" in started.out
        assert f"approve with `{approve}`" in started.err  # the fork's progress line
    shown = run_cli("compare", plan)
    assert (
        said in shown.out and f"Decide: conductor approve step_001 --plan {plan} --fork another" in shown.out
    )
    data = json.loads(run_cli("compare", plan, "--json").out)
    assert {f["fork"]: f["waiting"] for f in data["forks"]} == {
        "another": ["step_001"],
        "one-way": ["step_001"],
    }

    # each hint, as given, decides its own fork
    hint = next(line for line in started.err.splitlines() if "fork one-way`" in line)
    args = hint.split("approve with `conductor ")[1].split("`")[0].split()
    approved = run_cli(*args)
    assert "several forks" not in approved.err
    assert proj.state(plan, "one-way").status.value == "completed"
    assert proj.state(plan, "another").status.value == "halted"


def test_with_no_verify_evidence_on_either_side_compare_says_it_cannot_recommend(
    halted: tuple[Project, str, Result], run_cli
) -> None:
    _, plan, _ = halted
    for fork in ("another", "one-way"):  # the order of approval makes their confidences differ
        run_cli("approve", "step_001", "--plan", plan, "--fork", fork)
    shown = run_cli("compare", plan)
    assert shown.code == 0, shown.err
    assert "Recommended" not in shown.out
    assert "No fork to recommend: another and one-way each ran no verify command" in shown.out
    assert "no evidence tells them apart" in shown.out
    data = json.loads(run_cli("compare", plan, "--json").out)
    assert data["state"] == "completed" and data["recommended"] is None
    adopt = run_cli("adopt", plan)
    assert adopt.code == 1 and "no fork of plan" in adopt.err and "to recommend" in adopt.err
    assert f"conductor adopt {plan}/FORK" in adopt.err


def test_a_fork_whose_own_verify_failed_is_never_recommended(explored: tuple[Project, str], run_cli) -> None:
    proj, plan = explored  # long: 2/2 verify commands passed, short: 1/1
    assert json.loads(run_cli("compare", plan, "--json").out)["recommended"] == "long"
    verdict = StepPaths("step_002").attempt(1).verdict

    def failed(data: bytes) -> bytes:  # accepted, though its verify command failed
        record = json.loads(data)
        record["commands"][0]["exit_code"] = 1
        return json.dumps(record).encode()

    rewrite_tip(proj.root, refs.fork_log(plan, "long"), verdict, failed)
    data = json.loads(run_cli("compare", plan, "--json").out)
    assert data["source"] == "computed" and data["recommended"] == "short"
    assert "long's own verify commands failed (1/2 passed)" in data["reason"]
    rewrite_tip(proj.root, refs.fork_log(plan, "short"), StepPaths("step_001").attempt(1).verdict, failed)
    shown = run_cli("compare", plan)
    assert "Recommended" not in shown.out
    assert "No fork to recommend: long's own verify commands failed (1/2 passed)" in shown.out
    assert "short's own verify commands failed (0/1 passed)" in shown.out


UNREADABLE = (b"not json", b"[]", b'{"plan": "x"}', b'{"plan": "x", "state": "completed", "forks": ["long"]}')


def test_a_comparison_record_that_cannot_be_read_is_computed_again(
    explored: tuple[Project, str], run_cli
) -> None:
    # the plan log comes with the records a remote holds (git fetch refs/conductor/*)
    proj, plan = explored
    for damage in UNREADABLE:
        rewrite_tip(proj.root, refs.plan_log(plan), "comparison.json", lambda old, damage=damage: damage)
        shown = run_cli("compare", plan, "--json")
        assert shown.code == 0 and "Traceback" not in shown.err, shown.err
        data = json.loads(shown.out)
        assert data["source"] == "computed" and data["recommended"] == "long"
        assert "comparison.json cannot be read" in data["note"], data["note"]


def test_a_run_that_ends_over_an_unreadable_comparison_records_a_new_one(
    halted: tuple[Project, str, Result], run_cli
) -> None:
    proj, plan, started = halted
    assert started.code == 1  # both wait
    rewrite_tip(proj.root, refs.plan_log(plan), "comparison.json", lambda old: UNREADABLE[-1])
    approved = run_cli("approve", "step_001", "--plan", plan, "--fork", "one-way")
    assert approved.code == 1 and "Traceback" not in approved.err, approved.err  # the other fork waits
    assert plan_events(proj, plan)[-1].type is EventType.PLAN_COMPARED
    again = json.loads(run_cli("compare", "--json").out)
    assert again["source"] == "recorded" and again["recommended"] == "one-way"
