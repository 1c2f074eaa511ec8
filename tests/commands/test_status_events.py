"""`conductor status` and `conductor events` over a real ledger, text and JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pygit2

from conductor.ledger import message, refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.runner.logs.planlock import plan_lock
from conductor.runner.views import status


def ticking_ledger(root: Path) -> Ledger:
    """A ledger whose clock moves a second at each event, from 2026-03-01 12:00 UTC."""
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)

    def clock() -> dt.datetime:
        nonlocal now
        now += dt.timedelta(seconds=1)
        return now

    return Ledger(root, clock=clock)


def record(root: Path) -> Ledger:
    """Two plans: one with two forks and steps in several states."""
    ledger = ticking_ledger(root)
    ledger.append(
        refs.plan_log("alpha"),
        Event(EventType.PLAN_CREATED, plan="alpha", summary="Build a CLI", state="running"),
        {"plan.json": json.dumps({"id": "alpha", "goal": "Build a CLI", "created": "2026-03-01"})},
    )
    fork = refs.fork_log("alpha", "argparse")
    ledger.append(
        fork,
        Event(EventType.FORK_CREATED, plan="alpha", fork="argparse", summary="argparse", state="running"),
    )
    ledger.append(
        fork,
        Event(
            EventType.TASK_CREATED,
            plan="alpha",
            fork="argparse",
            step="step_001",
            attempt=1,
            summary="Create cli.py",
            state="running",
            data={"confidence": {"score": 0.62, "level": "medium"}},
        ),
        {"pending/step_001.task.json": "{}"},
    )
    ledger.append(
        fork,
        Event(
            EventType.TASK_COMPLETED,
            plan="alpha",
            fork="argparse",
            step="step_001",
            attempt=1,
            summary="done",
            state="running",
        ),
        {"pending/step_001.task.json": None, "completed/step_001.task.json": "{}"},
    )
    ledger.append(
        fork,
        Event(
            EventType.TASK_CREATED,
            plan="alpha",
            fork="argparse",
            step="step_002",
            attempt=1,
            summary="Add tests",
            state="running",
            data={"confidence": {"score": 0.9, "level": "high"}},
        ),
        {"pending/step_002.task.json": "{}"},
    )
    other = refs.fork_log("alpha", "click")
    ledger.append(
        other, Event(EventType.FORK_HALTED, plan="alpha", fork="click", summary="click", state="halted")
    )
    ledger.append(
        refs.plan_log("beta"),
        Event(EventType.PLAN_CREATED, plan="beta", summary="Fix bug", state="completed"),
        {"plan.json": json.dumps({"id": "beta", "goal": "Fix bug"})},
    )
    return ledger


def test_status_without_plans_is_friendly(project: Path, run_cli) -> None:
    result = run_cli("status")
    assert result.code == 0 and result.out.startswith("No plans yet.")
    assert json.loads(run_cli("status", "--json").out) == []


def test_status_lists_plans_forks_and_steps(project: Path, run_cli) -> None:
    record(project)
    result = run_cli("status")
    assert result.code == 0
    lines = result.out.splitlines()
    # no process holds alpha's lock: its runner is gone
    assert lines[0] == "plan alpha  [interrupted]  started 2026-03-01  Build a CLI"
    assert lines[1] == (
        "  its runner is gone (killed, or the machine restarted): continue it with `conductor resume alpha`"
    )
    assert any(
        "fork argparse" in ln
        and "[interrupted]" in ln
        and "conductor/alpha/argparse" in ln
        and "1 completed, 1 pending" in ln
        for ln in lines
    )
    # a step of medium confidence is marked (proceed with caution); others are not
    assert any(ln.split() == ["step_001", "completed", "·", "MEDIUM", "0.62"] for ln in lines)
    assert any(ln.split() == ["step_002", "pending"] for ln in lines)
    assert any("fork click" in ln and "[halted]" in ln and "no steps yet" in ln for ln in lines)
    assert "plan beta  [completed]  Fix bug" in lines
    data = json.loads(run_cli("status", "--json").out)
    assert [p["plan"] for p in data] == ["alpha", "beta"]
    argparse = data[0]["forks"][0]
    assert argparse["fork"] == "argparse" and argparse["branch"] == "conductor/alpha/argparse"
    assert argparse["steps"] == [  # states as data: each step's state and attempt, never prose
        {
            "step": "step_001",
            "state": "completed",
            "attempt": 1,
            "confidence": {"level": "medium", "score": 0.62},
        },
        {"step": "step_002", "state": "pending", "attempt": 1, "confidence": {"level": "high", "score": 0.9}},
    ]
    assert argparse["last_event"] == "task.created"
    assert data[0]["state"] == "interrupted" and "conductor resume alpha" in data[0]["hint"]
    assert argparse["state"] == "interrupted" and data[0]["forks"][1]["state"] == "halted"
    assert data[1]["state"] == "completed" and data[1]["hint"] is None
    # a live process holds alpha's lock: it runs
    with plan_lock(project / ".git", "alpha"):
        running = run_cli("status")
        assert running.out.splitlines()[0] == "plan alpha  [running]  started 2026-03-01  Build a CLI"
        assert "conductor resume" not in running.out
        assert json.loads(run_cli("status", "--json").out)[0]["forks"][0]["state"] == "running"


def test_status_lists_newest_first_and_equal_times_by_id(project: Path, run_cli) -> None:
    ledger = Ledger(project)
    for plan, created in [
        ("b", "2026-03-01T10:00:00.000000Z"),
        ("c", "2026-03-02T09:30:00.000000Z"),
        ("a", "2026-03-01T10:00:00.000000Z"),
    ]:
        ledger.append(
            refs.plan_log(plan),
            Event(EventType.PLAN_CREATED, plan=plan, summary=plan, state="completed"),
            {"plan.json": json.dumps({"id": plan, "goal": f"goal {plan}", "created": created})},
        )
    assert [p["plan"] for p in json.loads(run_cli("status", "--json").out)] == ["c", "a", "b"]
    heads = [ln for ln in run_cli("status").out.splitlines() if ln.startswith("plan ")]
    assert heads == [
        "plan c  [completed]  started 2026-03-02 09:30  goal c",
        "plan a  [completed]  started 2026-03-01 10:00  goal a",
        "plan b  [completed]  started 2026-03-01 10:00  goal b",
    ]


def test_events_text_json_filters_and_limit(project: Path, run_cli) -> None:
    record(project)
    text = run_cli("events")
    assert text.code == 0
    lines = text.out.splitlines()
    assert len(lines) == 7
    assert "plan.created" in lines[0] and "Fix bug" in lines[0]  # newest first
    assert "alpha/argparse" in lines[2] and "step_002#1" in lines[2] and "Add tests" in lines[2]
    oldest = run_cli("events", "--oldest-first", "--limit", "2").out.splitlines()
    assert len(oldest) == 2 and "Build a CLI" in oldest[0]
    jl = [json.loads(ln) for ln in run_cli("events", "--json").out.splitlines()]
    assert len(jl) == 7
    assert jl[2]["type"] == "task.created" and jl[2]["step"] == "step_002" and jl[2]["fork"] == "argparse"
    assert jl[2]["time"].endswith("Z") and len(jl[2]["commit"]) == 40
    plan_only = [
        json.loads(ln)["plan"] for ln in run_cli("events", "--plan", "beta", "--json").out.splitlines()
    ]
    assert plan_only == ["beta"]
    forks = {json.loads(ln)["fork"] for ln in run_cli("events", "--fork", "click", "--json").out.splitlines()}
    assert forks == {"click"}
    typed = [
        json.loads(ln)["step"]
        for ln in run_cli("events", "--type", "task.created", "--json").out.splitlines()
    ]
    assert typed == ["step_002", "step_001"]
    two_types = run_cli(
        "events", "--type", "task.created", "--type", "task.completed", "--json"
    ).out.splitlines()
    assert len(two_types) == 3
    limited = run_cli("events", "--limit", "1", "--json").out.splitlines()
    assert len(limited) == 1
    none = run_cli("events", "--plan", "alpha", "--type", "task.timed_out")
    assert none.code == 0 and none.out == "" and "No events match." in none.err
    unknown = run_cli("events", "--plan", "nope")  # a typo, not a filter: named, as other commands do
    assert unknown.code == 1 and "no plan 'nope'" in unknown.err and "known plans: alpha, beta" in unknown.err


def test_events_rejects_unknown_type_as_usage_error(project: Path, run_cli) -> None:
    result = run_cli("events", "--type", "task.exploded")
    assert result.code == 2 and "unknown event type 'task.exploded'" in result.err


def test_status_outside_a_repository(tmp_path: Path, run_cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("status")
    assert result.code == 1 and "not a git repository" in result.err and "Traceback" not in result.err


def test_events_columns_line_up_with_long_ids_and_several_forks(project: Path, run_cli) -> None:
    ledger = Ledger(project)
    plan = "add-a-verbose-flag-to-the-cli-3f9a0b1c2d3e"  # as long as generated ids get, and more
    ledger.append(
        refs.plan_log(plan),
        Event(EventType.PLAN_CREATED, plan=plan, summary="Add a verbose flag", state="running"),
        {"plan.json": json.dumps({"id": plan, "goal": "Add a verbose flag"})},
    )
    for fork in ("a", "argparse-with-subcommands-and-a-long-name"):
        log = refs.fork_log(plan, fork)
        ledger.append(log, Event(EventType.FORK_CREATED, plan=plan, fork=fork, summary=f"fork {fork}"))
        for attempt in (1, 2, 10):
            ledger.append(
                log,
                Event(
                    EventType.WORKSPACE_PREPARED if attempt == 10 else EventType.TASK_CREATED,
                    plan=plan,
                    fork=fork,
                    step="step_001",
                    attempt=attempt,
                    summary=f"{fork} attempt {attempt} — café 日本語",
                ),
            )
    lines = run_cli("events").out.splitlines()
    events = [json.loads(ln) for ln in run_cli("events", "--json").out.splitlines()]
    assert len(lines) == len(events) == 9
    types = {line.index(f" {e['type']} ") for line, e in zip(lines, events, strict=True)}
    summaries = {line.index(e["summary"]) for line, e in zip(lines, events, strict=True)}
    steps = {line.index(" step_001#") for line in lines if "step_001#" in line}
    assert len(types) == 1 and len(summaries) == 1 and len(steps) == 1, lines
    # one fork only: the column is as wide as what is listed
    only_a = run_cli("events", "--fork", "a", "--limit", "1").out
    newest_a = json.loads(run_cli("events", "--fork", "a", "--limit", "1", "--json").out)
    assert only_a.index(f" {newest_a['type']} ") == len("2026-12-01 10:35:35  ") + len(f"{plan}/a") + 1
    assert only_a.index(f" {newest_a['type']} ") < types.pop()


def many_plans(root: Path, count: int, *, created_backwards: bool = False) -> Ledger:
    """`count` finished plans, appended a second apart; created in that order, or backwards."""
    ledger = ticking_ledger(root)
    for n in range(count):
        created = dt.datetime(2026, 2, 1, tzinfo=dt.UTC) + dt.timedelta(
            hours=count - n if created_backwards else n
        )
        plan = f"p{n:02d}"
        ledger.append(
            refs.plan_log(plan),
            Event(EventType.PLAN_CREATED, plan=plan, summary=plan, state="completed"),
            {"plan.json": json.dumps({"id": plan, "goal": f"goal {n}", "created": created.isoformat()})},
        )
        ledger.append(
            refs.fork_log(plan, "main"),
            Event(EventType.FORK_COMPLETED, plan=plan, fork="main", summary="done", state="completed"),
        )
    return ledger


def test_status_shows_a_screenful_of_the_newest_plans_and_says_how_many_are_left_out(
    project: Path, run_cli, monkeypatch
) -> None:
    many_plans(project, 25)
    default = run_cli("status")
    heads = [ln.split()[1] for ln in default.out.splitlines() if ln.startswith("plan ")]
    assert heads == [f"p{n:02d}" for n in range(24, 4, -1)]  # 20, newest first
    assert default.out.rstrip().endswith("… 5 older plans not shown: conductor status --all, or --limit N")
    assert "fork main  [completed]" in default.out
    three = run_cli("status", "--limit", "3")
    assert [ln.split()[1] for ln in three.out.splitlines() if ln.startswith("plan ")] == ["p24", "p23", "p22"]
    assert "… 22 older plans not shown" in three.out
    everything = run_cli("status", "--all")
    assert len([ln for ln in everything.out.splitlines() if ln.startswith("plan ")]) == 25
    assert "not shown" not in everything.out
    as_json = run_cli("status", "--json", "--limit", "2")
    assert [p["plan"] for p in json.loads(as_json.out)] == ["p24", "p23"]
    assert "… 23 older plans not shown" in as_json.err  # the JSON stays a list; the note goes to stderr
    assert len(json.loads(run_cli("status", "--json", "--all").out)) == 25
    monkeypatch.setattr(status, "MANY", 3)  # more plans shown than that: their forks in one listing
    listed = json.loads(run_cli("status", "--json", "--all").out)
    assert len(listed) == 25 and all([f["fork"] for f in p["forks"]] == ["main"] for p in listed)
    assert "… 5 older plans not shown" in run_cli("status", "--json").err


def test_status_orders_by_creation_even_when_the_oldest_plan_moved_last(project: Path, run_cli) -> None:
    # appended in one order, created in the other: the newest created is the least recently
    # touched, so the tips' times cannot stop the reading early
    many_plans(project, 6, created_backwards=True)
    shown = [p["plan"] for p in json.loads(run_cli("status", "--json", "--limit", "2").out)]
    assert shown == ["p00", "p01"]
    assert [p["plan"] for p in json.loads(run_cli("status", "--json", "--all").out)] == [
        f"p{n:02d}" for n in range(6)
    ]


def test_events_limit_reads_only_the_logs_it_prints_from(project: Path, run_cli) -> None:
    ledger = many_plans(project, 3)
    # an old log this Conductor cannot read: a full listing refuses it, the newest events do not
    repo = ledger.repo
    builder = repo.TreeBuilder()
    builder.insert("format-version", repo.create_blob(b"99\n"), pygit2.enums.FileMode.BLOB)
    old = Event(EventType.PLAN_CREATED, plan="old", summary="old", seq=1, time="2001-09-09T01:46:40.000000Z")
    sig = pygit2.Signature("T", "t@example.com", 1_000_000_000, 0)
    early = repo.create_commit(None, sig, sig, message.encode(old), builder.write(), [])
    repo.references.create(refs.plan_log("old"), early)
    newest = run_cli("events", "--limit", "2")
    assert newest.code == 0 and len(newest.out.splitlines()) == 2 and "p02" in newest.out
    full = run_cli("events")
    assert full.code == 1 and "ledger format 99" in full.err


def test_events_with_a_limit_are_the_newest_of_the_full_listing_in_the_same_order(
    project: Path, run_cli
) -> None:
    many_plans(project, 4)
    record(project)  # its clock starts where many_plans' did: events of the same seconds in other logs
    ledger = Ledger(project)
    for n in range(3):  # several events in one second of one log, and of another
        for plan in ("p00", "p01"):
            ledger.append(
                refs.fork_log(plan, "main"), Event(EventType.NOTE, plan=plan, fork="main", summary=f"n{n}")
            )
    full = [json.loads(ln) for ln in run_cli("events", "--json").out.splitlines()]
    assert len(full) == 4 * 2 + 7 + 6
    for limit in (1, 5, len(full), len(full) + 3):
        limited = [
            json.loads(ln) for ln in run_cli("events", "--json", "--limit", str(limit)).out.splitlines()
        ]
        assert limited == full[:limit]
    assert [
        json.loads(ln)
        for ln in run_cli("events", "--plan", "alpha", "--limit", "3", "--json").out.splitlines()
    ] == [e for e in full if e["plan"] == "alpha"][:3]
