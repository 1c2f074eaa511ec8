"""The ledger against real repositories: one commit per event, CAS, streaming, formats, git."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import multiprocessing
import threading
from pathlib import Path

import pygit2
import pytest

from conductor.errors import LedgerFormatError, NotARepositoryError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from tests.conftest import assert_fsck_clean, git
from tests.conftest import event as ev

PLAN = "p1"


def test_append_makes_exactly_one_commit_with_trailers_and_full_snapshot(repo: Path) -> None:
    ledger = Ledger(repo)
    ref = refs.fork_log(PLAN, "main")
    first = ledger.append(
        ref,
        ev(EventType.TASK_CREATED, summary="Create hello.py", step="step_001", attempt=1),
        {"pending/step_001.task.json": b'{"a": 1}\n'},
    )
    second = ledger.append(
        ref,
        ev(EventType.TASK_CLAIMED, summary="claimed", step="step_001", attempt=1, state="running"),
        lambda snap: {
            "pending/step_001.task.json": None,
            "in_progress/step_001.task.json": snap.read("pending/step_001.task.json"),
        },
    )
    assert (first.seq, second.seq) == (1, 2)
    count = git(repo, "rev-list", "--count", ref).strip()
    assert count == "2"
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", ref)
    assert "Conductor-Event: task.claimed" in trailers
    assert "Conductor-Step: step_001" in trailers
    assert "Conductor-Seq: 2" in trailers
    # git's own trailer parser agrees with ours
    parsed = git(repo, "log", "-1", "--format=%B", ref)
    interpreted = pygit2_free_trailers(repo, parsed)
    assert interpreted["Conductor-Plan"] == PLAN
    tree = git(repo, "ls-tree", "-r", "--name-only", ref).split()
    assert tree == ["format-version", "in_progress/step_001.task.json"]
    assert git(repo, "show", f"{ref}:format-version") == "1\n"
    # the record moved, and its blob is shared with the previous snapshot
    old = git(repo, "rev-parse", f"{ref}~1:pending/step_001.task.json").strip()
    new = git(repo, "rev-parse", f"{ref}:in_progress/step_001.task.json").strip()
    assert old == new


def pygit2_free_trailers(repo: Path, message: str) -> dict[str, str]:
    out = git_input(repo, message, "interpret-trailers", "--parse")
    return dict(line.split(": ", 1) for line in out.splitlines())


def git_input(cwd: Path, stdin: str, *args: str) -> str:
    import subprocess

    return subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=True
    ).stdout


def test_event_data_survives_round_trip_including_newlines(repo: Path) -> None:
    ledger = Ledger(repo)
    ref = refs.fork_log(PLAN, "main")
    data = {"reason": "line one\nline two: 'quoted'", "n": [1, 2], "unicode": "héllo ✓"}
    ledger.append(
        ref, ev(EventType.TASK_REJECTED, summary="touched a protected file\nsecond line", data=data)
    )
    (event,) = list(ledger.log(ref))
    assert event.data == data
    assert event.summary == "touched a protected file second line"
    assert event.type is EventType.TASK_REJECTED
    assert event.time is not None and event.time.endswith("Z")
    assert event.moment is not None and event.moment.tzinfo is not None


def test_read_any_record_at_any_event(repo: Path) -> None:
    ledger = Ledger(repo)
    ref = refs.fork_log(PLAN, "main")
    for i in range(1, 4):
        ledger.append(ref, ev(EventType.NOTE, summary=f"v{i}"), {"evidence/out.txt": f"version {i}\n"})
    history = list(ledger.log(ref, newest_first=False))
    assert [e.summary for e in history] == ["v1", "v2", "v3"]
    for i, event in enumerate(history, start=1):
        assert event.commit is not None
        snap = ledger.at(event.commit, ref=ref)
        assert snap.read_text("evidence/out.txt") == f"version {i}\n"
        assert snap.event.seq == i
    assert ledger.tip(ref).listdir() == ["evidence", "format-version"]  # type: ignore[union-attr]


def test_deleting_last_file_removes_directory_and_fsck_is_clean(repo: Path) -> None:
    ledger = Ledger(repo)
    ref = refs.fork_log(PLAN, "main")
    ledger.append(ref, ev(EventType.TASK_CREATED), {"pending/step_001.task.json": "{}"})
    ledger.append(
        ref,
        ev(EventType.TASK_CLAIMED),
        {"pending/step_001.task.json": None, "in_progress/step_001.task.json": "{}"},
    )
    assert ledger.tip(ref).listdir() == ["format-version", "in_progress"]  # type: ignore[union-attr]
    assert_fsck_clean(repo)
    assert "dangling" not in git(repo, "fsck", "--strict")  # no empty tree was written


def test_invalid_record_paths_are_refused(repo: Path) -> None:
    ledger = Ledger(repo)
    for bad in ("../x", "a//b", ".git/config", "/abs", "a/./b"):
        with pytest.raises(ValueError, match="invalid ledger path"):
            ledger.append(refs.fork_log(PLAN, "main"), ev(EventType.NOTE), {bad: "x"})
    assert ledger.tip(refs.fork_log(PLAN, "main")) is None


def test_events_merge_across_plans_and_filter(repo: Path) -> None:
    clock = FakeClock()
    ledger = Ledger(repo, clock=clock)
    ledger.append(refs.plan_log("a"), ev(EventType.PLAN_CREATED, summary="plan a", plan="a", fork=None))
    ledger.append(refs.fork_log("a", "x"), ev(EventType.FORK_CREATED, summary="a/x", plan="a", fork="x"))
    ledger.append(refs.plan_log("b"), ev(EventType.PLAN_CREATED, summary="plan b", plan="b", fork=None))
    ledger.append(refs.fork_log("b", "x"), ev(EventType.FORK_CREATED, summary="b/x", plan="b", fork="x"))
    ledger.append(refs.fork_log("a", "y"), ev(EventType.TASK_CREATED, summary="a/y", plan="a", fork="y"))
    newest = [e.summary for e in ledger.events()]
    assert newest == ["a/y", "b/x", "plan b", "a/x", "plan a"]
    assert [e.summary for e in ledger.events(newest_first=False)] == newest[::-1]
    assert [e.summary for e in ledger.events(plan="a")] == ["a/y", "a/x", "plan a"]
    assert [e.summary for e in ledger.events(fork="x")] == ["b/x", "a/x"]
    assert [e.summary for e in ledger.events(types=[EventType.PLAN_CREATED])] == ["plan b", "plan a"]
    assert ledger.plans() == ["a", "b"]
    assert ledger.forks("a") == ["x", "y"]


def test_events_of_many_logs_in_exact_time_order_within_and_across_seconds(repo: Path) -> None:
    """Logs written in interleaved bursts, several events per second: the merge is exact."""
    moments = iter(
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=137 * i) for i in range(1000)
    )
    ledger = Ledger(repo, clock=lambda: next(moments))
    order = ["a", "b", "a", "c", "c", "b", "a", "b", "c", "a"] * 3
    for i, fork in enumerate(order):
        ledger.append(refs.fork_log(PLAN, fork), ev(EventType.NOTE, summary=f"{i}", fork=fork))
    newest = [int(e.summary) for e in ledger.events()]
    assert newest == list(range(len(order)))[::-1]
    oldest = [int(e.summary) for e in ledger.events(newest_first=False)]
    assert oldest == list(range(len(order)))
    # the same as merging each log read on its own
    merged = sorted(
        (e for f in "abc" for e in ledger.log(refs.fork_log(PLAN, f))), key=lambda e: e.time or ""
    )
    assert [(e.commit, e.ref, e.seq) for e in merged] == [
        (e.commit, e.ref, e.seq) for e in ledger.events(newest_first=False)
    ]
    assert [int(e.summary) for e in itertools.islice(ledger.events(), 3)] == [29, 28, 27]


class FakeClock:
    """A clock that advances one second per reading (ordering without sleeping)."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


def test_time_never_goes_backwards_within_a_log(repo: Path) -> None:
    times = iter([dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), dt.datetime(2025, 1, 1, tzinfo=dt.UTC)])
    ledger = Ledger(repo, clock=lambda: next(times))
    ref = refs.fork_log(PLAN, "main")
    ledger.append(ref, ev(EventType.NOTE, summary="first"))
    ledger.append(ref, ev(EventType.NOTE, summary="clock jumped back"))
    first, second = ledger.log(ref, newest_first=False)
    assert second.time >= first.time  # type: ignore[operator]
    assert second.time == "2026-01-01T12:00:00.000000Z"


def test_newest_first_stream_is_lazy(repo: Path) -> None:
    """Reading the newest event does not walk the rest of the history."""
    ledger = Ledger(repo)
    ref = refs.fork_log(PLAN, "main")
    for i in range(5):
        ledger.append(ref, ev(EventType.NOTE, summary=f"n{i}"))
    stream = ledger.log(ref)
    assert next(stream).summary == "n4"
    # Break the history below the tip: a lazy reader never notices.
    root = git(repo, "rev-list", "--max-parents=0", ref).strip()
    obj = repo / ".git" / "objects" / root[:2] / root[2:]
    obj.chmod(0o644)
    obj.unlink()
    fresh = Ledger(repo)
    assert [e.summary for e in itertools.islice(fresh.log(ref), 2)] == ["n4", "n3"]
    with pytest.raises(KeyError):  # the whole history really is broken
        list(fresh.log(ref))


def _append_many(path: str, worker: int, count: int) -> None:
    ledger = Ledger(path)
    for i in range(count):
        ledger.append(
            refs.fork_log(PLAN, "main"),
            ev(EventType.NOTE, summary=f"w{worker}-{i}", data={"worker": worker, "i": i}),
            {f"evidence/w{worker}.txt": f"{i}\n"},
        )


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_concurrent_processes_never_lose_an_event(repo: Path) -> None:
    workers, each = 4, 25
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(repo), w, each)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    _assert_complete(repo, workers, each)


def test_concurrent_threads_never_lose_an_event(repo: Path) -> None:
    workers, each = 4, 25
    ledger = Ledger(repo)

    def work(w: int) -> None:
        for i in range(each):
            ledger.append(
                refs.fork_log(PLAN, "main"),
                ev(EventType.NOTE, summary=f"w{w}-{i}", data={"worker": w, "i": i}),
                {f"evidence/w{w}.txt": f"{i}\n"},
            )

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _assert_complete(repo, workers, each)


def _assert_complete(repo: Path, workers: int, each: int) -> None:
    ledger = Ledger(repo)
    events = list(ledger.log(refs.fork_log(PLAN, "main"), newest_first=False))
    assert len(events) == workers * each
    assert [e.seq for e in events] == list(range(1, workers * each + 1))
    seen = {(e.data["worker"], e.data["i"]) for e in events}
    assert seen == {(w, i) for w in range(workers) for i in range(each)}
    # per worker, events keep their order, and the final snapshot holds every worker's last write
    for w in range(workers):
        mine = [e.data["i"] for e in events if e.data["worker"] == w]
        assert mine == list(range(each))
    tip = ledger.tip(refs.fork_log(PLAN, "main"))
    assert tip is not None
    for w in range(workers):
        assert tip.read_text(f"evidence/w{w}.txt") == f"{each - 1}\n"
    assert_fsck_clean(repo)


def test_unknown_format_version_is_refused_with_upgrade_hint(repo: Path) -> None:
    ledger = Ledger(repo)
    ref = refs.fork_log(PLAN, "main")
    ledger.append(ref, ev(EventType.NOTE))
    # A newer Conductor wrote format 2 on top.
    r = pygit2.Repository(str(repo))
    tip = r.references[ref].peel(pygit2.Commit)
    builder = r.TreeBuilder(tip.tree)
    builder.insert("format-version", r.create_blob(b"2\n"), pygit2.enums.FileMode.BLOB)
    sig = pygit2.Signature("x", "x@example.com")
    msg = tip.message.replace("Conductor-Seq: 1", "Conductor-Seq: 2")
    new = r.create_commit(None, sig, sig, msg, builder.write(), [tip.id])
    r.references[ref].set_target(new)
    with pytest.raises(LedgerFormatError) as info:
        Ledger(repo).tip(ref)
    assert "format 2" in info.value.message
    assert info.value.hint and "upgrade Conductor" in info.value.hint
    with pytest.raises(LedgerFormatError):
        list(Ledger(repo).events())
    with pytest.raises(LedgerFormatError, match="format 2"):
        Ledger(repo).append(ref, ev(EventType.NOTE))


def test_a_ref_that_is_not_a_conductor_log_is_refused(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", refs.fork_log(PLAN, "main"), head)
    with pytest.raises(LedgerFormatError, match="not written by Conductor"):
        Ledger(repo).tip(refs.fork_log(PLAN, "main"))


def test_outside_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotARepositoryError, match="not a git repository"):
        Ledger(tmp_path)


def test_push_and_fetch_move_all_state(repo: Path, tmp_path: Path) -> None:
    ledger = Ledger(repo)
    ledger.append(
        refs.plan_log(PLAN),
        ev(EventType.PLAN_CREATED, summary="goal", fork=None),
        {"plan.json": json.dumps({"goal": "goal"})},
    )
    ledger.append(refs.fork_log(PLAN, "main"), ev(EventType.FORK_CREATED, summary="fork"))
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "push", "-q", str(remote), "refs/conductor/*:refs/conductor/*")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/conductor/*:refs/conductor/*")
    copied = Ledger(clone)
    assert [e.summary for e in copied.events()] == [e.summary for e in ledger.events()]
    assert copied.tip(refs.plan_log(PLAN)).read_text("plan.json") == '{"goal": "goal"}'  # type: ignore[union-attr]
    assert_fsck_clean(clone)


def test_git_log_shows_the_audit_trail(repo: Path) -> None:
    ledger = Ledger(repo)
    ref = refs.fork_log(PLAN, "main")
    ledger.append(ref, ev(EventType.TASK_CREATED, summary="Create hello.py", step="step_001", attempt=1))
    subjects = git(repo, "log", "--format=%s", ref).splitlines()
    assert subjects == ["task.created step_001 (attempt 1): Create hello.py"]
    # state refs are not branches
    assert git(repo, "branch", "--list").strip() == "* main"


def test_ref_names_never_conflict() -> None:
    plan_ref = refs.plan_log("p")
    fork_ref = refs.fork_log("p", "main")
    assert not fork_ref.startswith(plan_ref + "/")
    assert refs.parse(plan_ref) == refs.LogRef(plan_ref, "plan", "p")
    assert refs.parse(fork_ref) == refs.LogRef(fork_ref, "fork", "p", "main")
    assert refs.parse(refs.MEMORY) == refs.LogRef(refs.MEMORY, "memory")
    assert refs.parse("refs/conductor/forks/p") is None
    assert refs.parse("refs/heads/main") is None


def test_code_branches_move_by_compare_and_swap(repo: Path) -> None:
    from conductor.errors import LedgerConflictError

    ledger = Ledger(repo)
    base = git(repo, "rev-parse", "HEAD").strip()
    branch = refs.code_branch(PLAN, "main")
    ledger.set_branch(branch, base, expect=None)
    assert git(repo, "rev-parse", branch).strip() == base
    (repo / "x.txt").write_text("x\n")
    git(repo, "add", "x.txt")
    git(repo, "commit", "-q", "-m", "x")
    new = git(repo, "rev-parse", "HEAD").strip()
    ledger.set_branch(branch, new, expect=base)
    assert git(repo, "rev-parse", branch).strip() == new
    # someone moved the branch behind Conductor's back: refused, not overwritten
    git(repo, "update-ref", branch, base)
    with pytest.raises(LedgerConflictError, match="moved outside Conductor"):
        ledger.set_branch(branch, new, expect=new)
    assert git(repo, "rev-parse", branch).strip() == base
    with pytest.raises(LedgerConflictError, match="disappeared"):
        ledger.set_branch(refs.code_branch(PLAN, "other"), new, expect=base)
    assert refs.short_branch(PLAN, "main") == f"conductor/{PLAN}/main"
