"""`conductor archive` over real runs: finished plans' logs folded into refs/conductor/archive,
their live refs gone, every commit still reachable, and the commands that read one plan
(explain, verify, checkout, events --plan, status --all) working on archived plans as before."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conductor.ledger import refs
from conductor.models.event import Event, EventType
from conductor.runner.views.status import archived_summary_path
from tests.conftest import assert_fsck_clean, git
from tests.scenario import Project, build

TWO_STEPS = [
    {"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]},
    {"title": "Write b.txt", "instruction": "Write b.txt", "allowed_files": ["b.txt"]},
]


def live(root: Path, prefix: str = "refs/conductor/") -> list[str]:
    return git(root, "for-each-ref", "--format=%(refname)", prefix).split()


def finished_plans(proj: Project, run_cli, count: int, *, first: int = 0) -> list[str]:
    agent = proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}], "step_002": [{"write": {"b.txt": "b\n"}}]})
    made = []
    for n in range(first, first + count):
        plan_file = proj.plan(TWO_STEPS, goal=f"goal {n}", name=f"plan{n}.yaml")
        assert build(run_cli, proj, plan_file, agent).code == 0
        made.append(json.loads(run_cli("status", "--json", "--limit", "1").out)[0]["plan"])
    return made


@pytest.fixture
def finished(prebuilt: Callable[[str, Callable[[Project], None]], Project], run_cli) -> tuple[Project, str]:
    """A copy of a project with one finished plan of TWO_STEPS (made once per test process, as
    the current directory): (the project, the plan)."""

    def make(template: Project) -> None:
        finished_plans(template, run_cli, 1)

    proj = prebuilt("finished", make)
    return proj, proj.only_plan()


def running_plan(proj: Project) -> str:
    """A plan whose log says it runs (and whose runner is gone: interrupted)."""
    proj.ledger().append(
        refs.plan_log("still-running"),
        Event(EventType.PLAN_CREATED, plan="still-running", summary="unfinished", state="running"),
        {"plan.json": json.dumps({"id": "still-running", "goal": "unfinished", "created": "2026-01-01"})},
    )
    return "still-running"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_archive_folds_finished_plans_and_every_command_still_reads_them(proj: Project, run_cli) -> None:
    first, second = finished_plans(proj, run_cli, 2)
    running = running_plan(proj)
    before = {p["plan"]: p for p in json.loads(run_cli("status", "--json", "--all").out)}
    events_before = run_cli("events", "--plan", first, "--json").out
    explain_before = run_cli("explain", "step_002", "--plan", first)
    assert explain_before.code == 0
    diff_before = run_cli("diff", f"{first}/main@step_001", f"{first}/main", "--json")
    assert diff_before.code == 0 and "b.txt" in diff_before.out
    tips = {name: git(proj.root, "rev-parse", name).strip() for name in live(proj.root)}
    branches = git(proj.root, "for-each-ref", "refs/heads/conductor/")

    # too recent for the default age; a dry run changes nothing
    recent = run_cli("archive")
    assert recent.code == 0 and "Nothing to archive" in recent.out
    assert "2 finished more recently" in recent.out and "1 running" in recent.out
    dry = run_cli("archive", "--older-than", "0", "--dry-run")
    assert dry.code == 0 and dry.out.startswith("Would archive 2 finished plans")
    assert {name: git(proj.root, "rev-parse", name).strip() for name in live(proj.root)} == tips

    done = run_cli("archive", "--older-than", "0", "--json")
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert sorted(p["plan"] for p in report["archived"]) == sorted([first, second])
    assert report["kept"] == {"running": 1} and report["refs_removed"] == 4  # 2 plan logs, 2 fork logs
    # the live refs follow running work: the running plan, the memory and metrics logs, the archive
    assert sorted(live(proj.root)) == sorted(
        [refs.ARCHIVE, refs.MEMORY, refs.METRICS, refs.plan_log(running)]
    )
    assert git(proj.root, "for-each-ref", "refs/heads/conductor/") == branches  # the user's branches stay
    archive = git(proj.root, "rev-parse", refs.ARCHIVE).strip()
    parents = git(proj.root, "log", "-1", "--format=%P", archive).split()
    assert set(parents) == {tips[refs.plan_log(p)] for p in (first, second)} | {
        tips[refs.fork_log(p, "main")] for p in (first, second)
    }
    # every archived commit stays reachable through gc
    git(proj.root, "gc", "-q", "--prune=now")
    for name, tip in tips.items():
        assert git(proj.root, "cat-file", "-t", tip).strip() == "commit", name
    assert_fsck_clean(proj.root)

    # status: the default view leaves archived plans out and says so; --all lists them as they were
    default = run_cli("status")
    assert default.code == 0 and f"plan {running}" in default.out and first not in default.out
    assert default.out.rstrip().endswith("… 2 archived plans not shown: conductor status --all")
    after = {p["plan"]: p for p in json.loads(run_cli("status", "--json", "--all").out)}
    assert after.keys() == before.keys()
    for plan in (first, second):
        assert after[plan].pop("archived") is True and before[plan].pop("archived") is False
        assert after[plan] == before[plan]
    assert f"plan {first}  [completed]" in run_cli("status", "--all").out
    assert "(archived)" in run_cli("status", "--all").out

    # the commands that read one plan work on an archived one, through the real CLI
    assert run_cli("events", "--plan", first, "--json").out == events_before
    explained = run_cli("explain", "step_002", "--plan", first)
    assert explained.code == 0 and explained.out == explain_before.out
    verified = run_cli("verify", first)
    assert verified.code == 0, verified.out + verified.err
    checkout = run_cli("checkout", f"{first}/main@step_001", str(proj.root.parent / "point"))
    assert checkout.code == 0, checkout.err
    assert (proj.root.parent / "point" / "a.txt").read_text() == "a\n"
    assert run_cli("diff", f"{first}/main@step_001", f"{first}/main", "--json").out == diff_before.out
    agent = proj.agent({"step_002": [{"write": {"b.txt": "again\n"}}]}, name="again.json")
    forked = run_cli("fork", "--from", f"{first}/main@step_001", "--exec", agent, "--yes")
    assert forked.code == 0, forked.out + forked.err
    assert (
        json.loads(run_cli("status", "--json", "--limit", "1").out)[0]["origin"] == f"{first}/main@step_001"
    )


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_second_archive_builds_on_the_first_and_a_live_ref_wins(
    finished: tuple[Project, str], run_cli
) -> None:
    proj, first = finished
    assert run_cli("archive", "--older-than", "0").code == 0
    archived_once = git(proj.root, "rev-parse", refs.ARCHIVE).strip()
    (second,) = finished_plans(proj, run_cli, 1, first=1)
    text = run_cli("archive", "--older-than", "0")
    assert text.code == 0 and text.out.startswith("Archived 1 finished plan into refs/conductor/archive")
    assert "Their branches conductor/<plan>/<fork> are yours" in text.out
    archived_twice = git(proj.root, "rev-parse", refs.ARCHIVE).strip()
    assert git(proj.root, "rev-parse", f"{archived_twice}^1").strip() == archived_once
    assert json.loads(run_cli("status", "--json", "--all").out)[0]["plan"] == second
    assert {p["plan"] for p in json.loads(run_cli("status", "--json", "--all").out)} == {first, second}

    # a crash after the archive moved but before the live refs went: the live ref is read, once
    tip = git(proj.root, "rev-parse", f"{archived_twice}^2").strip()
    git(proj.root, "update-ref", refs.plan_log(second), tip)
    listed = [p["plan"] for p in json.loads(run_cli("status", "--json", "--all").out)]
    assert sorted(listed) == sorted([first, second])
    again = json.loads(run_cli("archive", "--older-than", "0", "--json").out)
    assert [p["plan"] for p in again["archived"]] == [second] and again["refs_removed"] == 1
    assert live(proj.root, "refs/conductor/plans/") == []
    # a fork log fetched back without its plan log: read as before, removed by the next run
    fork_tip = git(proj.root, "cat-file", "-p", f"{refs.ARCHIVE}:plans/{first}/forks/main").strip()
    git(proj.root, "update-ref", refs.fork_log(first, "main"), fork_tip)
    assert run_cli("events", "--plan", first, "--limit", "1", "--json").code == 0
    third = json.loads(run_cli("archive", "--older-than", "0", "--json").out)
    assert third["archived"] == [] and third["refs_removed"] == 1
    assert live(proj.root, "refs/conductor/forks/") == []
    assert git(proj.root, "cat-file", "-p", f"{refs.ARCHIVE}:plans/{first}/forks/main").strip() == fork_tip


def test_archive_refuses_an_age_it_cannot_read(project: Path, run_cli) -> None:
    result = run_cli("archive", "--older-than", "a week")
    assert result.code == 2 and "cannot read the age 'a week'" in result.err and "7d" in result.err
    unitless = run_cli("archive", "--older-than", "7")
    assert unitless.code == 2


def test_a_remote_gets_the_archive_as_one_ref_from_clones_whose_metrics_diverge(
    finished: tuple[Project, str], run_cli, tmp_path: Path
) -> None:
    proj, _ = finished
    shown = run_cli("archive", "--older-than", "0").out
    (recipe,) = [line for line in shown.splitlines() if line.startswith("Share the archive: ")]
    push = shlex.split(recipe.removeprefix("Share the archive: ").partition(" (")[0])
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(proj.root, "remote", "add", "origin", str(remote))
    assert push[:3] == ["git", "push", "origin"]
    git(proj.root, *push[1:])  # as the archive says it
    assert sorted(live(remote)) == [refs.ARCHIVE, refs.MEMORY]
    # another clone, whose metrics (each clone's own cache) went another way, shares its ledger too
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    git(other, "fetch", "-q", "origin", *shlex.split(refs.SHARED))
    empty = git(other, "mktree", input="").strip()
    git(other, "update-ref", refs.METRICS, git(other, "commit-tree", empty, "-m", "its own").strip())
    git(other, *push[1:])  # would be refused as not a fast-forward, were the metrics pushed
    git(proj.root, "fetch", "-q", "origin", *shlex.split(refs.SHARED))
    assert sorted(live(remote)) == [refs.ARCHIVE, refs.MEMORY]
    assert_fsck_clean(remote)


def test_an_event_recorded_on_an_archived_log_continues_it_live(
    finished: tuple[Project, str], run_cli
) -> None:
    proj, plan = finished
    tip = git(proj.root, "rev-parse", refs.plan_log(plan)).strip()
    seq = proj.ledger().tip(refs.plan_log(plan)).event.seq  # type: ignore[union-attr]
    assert run_cli("archive", "--older-than", "0").code == 0
    recorded = proj.ledger().append(
        refs.plan_log(plan), Event(EventType.NOTE, plan=plan, summary="a note", state="completed")
    )
    assert recorded.seq == seq + 1
    assert git(proj.root, "rev-parse", f"{refs.plan_log(plan)}^").strip() == tip  # the same chain, live again
    listed = json.loads(run_cli("status", "--json", "--all").out)
    assert [(p["plan"], p["archived"]) for p in listed] == [(plan, False)]
    again = json.loads(run_cli("archive", "--older-than", "0", "--json").out)
    assert [p["plan"] for p in again["archived"]] == [plan] and again["refs_removed"] == 1
    assert proj.ledger().tip(refs.plan_log(plan)).event.summary == "a note"  # type: ignore[union-attr]


def test_conductor_pr_pushes_an_archived_plans_records(
    finished: tuple[Project, str], run_cli, tmp_path: Path, monkeypatch
) -> None:
    proj, plan = finished
    tips = {name: git(proj.root, "rev-parse", name).strip() for name in live(proj.root)}
    assert run_cli("archive", "--older-than", "0").code == 0
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(proj.root, "remote", "add", "origin", str(remote))
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = run_cli("pr", plan)
    assert result.code == 0, result.err
    for name in (refs.plan_log(plan), refs.fork_log(plan, "main")):
        assert git(remote, "rev-parse", name).strip() == tips[name]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_pre_push_check_knows_an_archived_plans_records(
    finished: tuple[Project, str], run_cli, tmp_path: Path
) -> None:
    proj, plan = finished
    assert run_cli("archive", "--older-than", "0").code == 0
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(proj.root, "remote", "add", "origin", str(remote))
    assert run_cli("hooks", "install", "--pre-push").code == 0
    branch = f"conductor/{plan}/main"
    alone = subprocess.run(
        ["git", "push", "-q", "origin", branch], cwd=proj.root, capture_output=True, text=True
    )
    assert alone.returncode == 0, alone.stderr
    assert "stay behind" in alone.stderr and refs.ARCHIVE in alone.stderr
    assert refs.plan_log(plan) not in alone.stderr  # archived: its live refs are gone on purpose
    git(proj.root, "push", "-q", "origin", "refs/conductor/*:refs/conductor/*")
    again = subprocess.run(
        ["git", "push", "-q", "origin", branch], cwd=proj.root, capture_output=True, text=True
    )
    assert again.returncode == 0 and "stay behind" not in again.stderr, again.stderr


def test_an_archive_entry_that_is_not_a_commit_id_is_named(finished: tuple[Project, str], run_cli) -> None:
    proj, plan = finished
    assert run_cli("archive", "--older-than", "0").code == 0
    entry = refs.archive_entry(plan, None)
    for damage in ("not a commit id\n", "0" * 40 + "\n"):
        ledger = proj.ledger()
        archive = ledger.archive_commit()
        damaged = ledger.commit_records(archive, {entry: damage}, parents=[archive], message="damaged")
        git(proj.root, "update-ref", refs.ARCHIVE, damaged)
        shown = run_cli("explain", "step_001", "--plan", plan)
        assert shown.code == 1 and "Traceback" not in shown.err, shown.err
        assert refs.plan_log(plan) in shown.err or entry in shown.err, shown.err


def test_a_summary_archived_before_the_json_contract_is_listed_in_todays_keys(
    finished: tuple[Project, str], run_cli
) -> None:
    # before 0.2 an archived summary said `id`, `created`, `updated` (`2026-03-01 10:00:05`) and
    # each step's state as prose ("completed (attempt 2)") beside a confidence map
    proj, plan = finished
    assert run_cli("archive", "--older-than", "0").code == 0
    old = {
        "id": plan,
        "goal": "goal 0",
        "state": "completed",
        "created": "2026-03-01T10:00:00.000000Z",
        "origin": None,
        "hint": None,
        "archived": False,
        "forks": [
            {
                "id": "main",
                "state": "completed",
                "branch": f"conductor/{plan}/main",
                "steps": {"step_001": "completed (attempt 2)", "step_002": "awaiting approval"},
                "confidence": {"step_001": {"level": "medium", "score": 0.6}},
                "last_event": "fork.completed",
                "updated": "2026-03-01 10:00:05",
            }
        ],
    }
    ledger = proj.ledger()
    archive = ledger.archive_commit()
    rewritten = ledger.commit_records(
        archive, {archived_summary_path(plan): json.dumps(old)}, parents=[archive], message="as 0.1 wrote it"
    )
    git(proj.root, "update-ref", refs.ARCHIVE, rewritten)
    (shown,) = json.loads(run_cli("status", "--json", "--all").out)
    assert (shown["plan"], shown["created_at"], shown["archived"]) == (plan, old["created"], True)
    (fork,) = shown["forks"]
    assert (fork["fork"], fork["updated_at"]) == ("main", "2026-03-01T10:00:05Z")
    assert fork["steps"] == [
        {
            "step": "step_001",
            "state": "completed",
            "attempt": 2,
            "confidence": {"level": "medium", "score": 0.6},
        },
        {"step": "step_002", "state": "awaiting_approval", "attempt": None, "confidence": None},
    ]
    lines = [line.split() for line in run_cli("status", "--all").out.splitlines()]
    assert ["step_001", "completed", "(attempt", "2)", "·", "MEDIUM", "0.60"] in lines


def test_an_archived_summary_whose_forks_or_steps_are_not_objects_is_shown_unreadable(
    finished: tuple[Project, str], run_cli
) -> None:
    # the archive comes with the records a remote holds (git fetch refs/conductor/*): its
    # summaries are read as data that may be anything, and never stop `status --all`
    proj, plan = finished
    assert run_cli("archive", "--older-than", "0").code == 0
    fork = {"fork": "main", "state": "completed", "branch": f"conductor/{plan}/main", "steps": ["step_001"]}
    for forks in (["main"], [fork]):
        ledger = proj.ledger()
        archive = ledger.archive_commit()
        damaged = ledger.commit_records(
            archive,
            {archived_summary_path(plan): json.dumps({"plan": plan, "forks": forks})},
            parents=[archive],
            message="damaged",
        )
        git(proj.root, "update-ref", refs.ARCHIVE, damaged)
        shown = run_cli("status", "--json", "--all")
        assert shown.code == 0 and "Traceback" not in shown.err, shown.err
        (listed,) = json.loads(shown.out)
        assert (listed["plan"], listed["state"], listed["archived"]) == (plan, "unreadable", True)
        assert "its archived summary is unreadable" in listed["error"]
