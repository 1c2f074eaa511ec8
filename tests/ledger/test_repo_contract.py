"""One contract for both Repos (conductor.ledger.repo): GitRepo on disk and MemoryRepo in dicts.

Every test here runs against each; those that compare the two run the same writes on both and
check that the ids, listings and events are the same, so a test that uses MemoryRepo (no git,
no subprocess) sees what a repository on disk would show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from conductor.errors import LedgerError
from conductor.ledger import refs
from conductor.ledger.changes import EXECUTABLE, LINK, Changes
from conductor.ledger.gitrepo import GitRepo
from conductor.ledger.identity import Identity
from conductor.ledger.memrepo import MemoryRepo
from conductor.ledger.repo import Repo
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from tests.conftest import event as ev
from tests.conftest import git

WHO = ("Test User", "test@example.com")  # tests/conftest.py's git identity
KINDS = ["git", "memory"]


def make_repo(kind: str, where: Path) -> Repo:
    if kind == "memory":
        return MemoryRepo(identity=Identity(*WHO))
    where.mkdir(parents=True, exist_ok=True)
    git(where, "init", "-q")
    return GitRepo(where)


@pytest.fixture(params=KINDS)
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Repo:
    return make_repo(request.param, tmp_path / "repo")


@pytest.fixture
def both(tmp_path: Path) -> tuple[Repo, Repo]:
    return make_repo("git", tmp_path / "git"), make_repo("memory", tmp_path / "memory")


def on_both(both: tuple[Repo, Repo], write: Callable[[Repo], object]) -> object:
    """`write` on each Repo; what it returns must be the same, and is returned."""
    on_git, on_memory = (write(r) for r in both)
    assert on_git == on_memory
    return on_git


def commit(
    repo: Repo, changes: Changes, parents: list[str] | None = None, *, when: int = 1_700_000_000
) -> str:
    base = repo.read_commit(parents[0]).tree if parents else None
    tree = repo.apply(base, changes)
    return repo.create_commit(
        tree, parents=parents or [], message=f"at {when}\n\nbody\n", author=WHO, committer=WHO, when=when
    )


# -- objects and trees -------------------------------------------------------------------------


def test_a_blob_round_trips_under_the_id_git_gives_it(repo: Repo) -> None:
    data = b"hello\n\x00binary too"
    oid = repo.write_blob(data)
    assert oid == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    assert repo.object_bytes(oid) == data
    assert repo.lookup(oid) == (oid, "blob")
    assert repo.lookup("0" * 40) is None


def test_trees_read_by_path_and_keep_their_ids(both: tuple[Repo, Repo]) -> None:
    changes: Changes = {
        "a.txt": "text\n",
        "dir/b.bin": b"\x00\x01",
        "dir/sub/run.sh": (EXECUTABLE, b"#!/bin/sh\n"),
        "dir/link": (LINK, b"../a.txt"),
        "dir-x": "sorted after dir/ as git sorts",
        "dir.y": "sorted before dir/",
    }

    def write(repo: Repo) -> object:
        tree = repo.apply(None, changes)
        view = repo.tree_view(tree)
        smaller = repo.apply(tree, {"dir/sub/run.sh": None, "a.txt": None, "new/c": "c"})
        after = repo.tree_view(smaller)
        return (
            tree,
            view.read("a.txt"),
            view.read("dir"),
            view.read("missing/x"),
            view.listdir(),
            view.listdir("dir"),
            view.listdir("a.txt"),
            view.exists("dir/sub"),
            view.exists("dir/nope"),
            list(view.files()),
            list(view.files("dir")),
            smaller,
            list(after.files()),  # the emptied directory is gone
            repo.apply(None, {}),  # the empty tree
            repo.apply(smaller, {"x": None}) == smaller,
        )

    found = on_both(both, write)
    assert isinstance(found, tuple) and found[9] == [
        "a.txt",
        "dir-x",
        "dir.y",
        "dir/b.bin",
        "dir/link",
        "dir/sub/run.sh",
    ]


def test_what_a_path_is_at_a_commit(both: tuple[Repo, Repo]) -> None:
    def write(repo: Repo) -> object:
        first = commit(repo, {"src/a.py": "a\n", "src/pkg/b.py": "b\n", "run": (EXECUTABLE, b"x")})
        return (
            repo.entry(first, "src/a.py"),
            repo.entry(first, "run"),
            repo.entry(first, "src"),
            repo.entry(first, "nothing"),
            repo.find(first, "src/a.py"),
            repo.find(first, "src/pkg"),
            repo.find(first, "gone"),
            sorted(repo.files_under(first, "src")),
            repo.files_under(first, "src/a.py"),
        )

    on_both(both, write)


FUNCTION = "def f():\n    a = 1\n    b = 2\n    c = {c}\n    d = 4\n    e = 5\n    return a\n\nx = 1\n"


def test_changed_paths_and_diffs_of_two_trees(both: tuple[Repo, Repo]) -> None:
    old: Changes = {
        "keep.txt": "same\n",
        "edit.py": FUNCTION.format(c=3) + "y = 2\n",
        "moved.txt": "one\ntwo\nthree\nfour\n",
        "gone.txt": "bye\n",
        "dir/inner.txt": "inner\n",
        "bin.dat": b"\x00\x01\x02",
        "tool": "a file, then a link\n",
        "mode.sh": "echo\n",
    }
    new: Changes = {
        "edit.py": FUNCTION.format(c=30) + "y = 3",  # and no newline at the end
        "moved.txt": None,
        "renamed.txt": "one\ntwo\nthree\nfour\n",
        "gone.txt": None,
        "dir": "a file where a directory was\n",
        "tool": (LINK, b"keep.txt"),
        "mode.sh": (EXECUTABLE, b"echo\n"),
        "bin.dat": b"\x00\x01\x03",
        "added.txt": "",
    }

    def write(repo: Repo) -> object:
        before = repo.apply(None, old)
        after = repo.apply(before, new)
        diff = repo.diff_trees(
            before,
            after,
            [
                "edit.py",
                "moved.txt",
                "renamed.txt",
                "gone.txt",
                "dir",
                "bin.dat",
                "added.txt",
                "keep.txt",
                "tool",
                "mode.sh",
            ],
        )
        return repo.changed_paths(before, after), diff.changes, diff.counts, diff.sizes, diff.patch

    changed, changes, counts, _, patch = on_both(both, write)  # type: ignore[misc]
    assert changed == [
        "added.txt",
        "bin.dat",
        "dir",
        "dir/inner.txt",
        "edit.py",
        "gone.txt",
        "mode.sh",
        "moved.txt",
        "renamed.txt",
        "tool",
    ]
    assert [(c.kind, c.path, c.old_path) for c in changes] == [
        ("added", "added.txt", None),
        ("modified", "bin.dat", None),
        ("added", "dir", None),
        ("deleted", "dir/inner.txt", None),
        ("modified", "edit.py", None),
        ("deleted", "gone.txt", None),
        ("modified", "mode.sh", None),
        ("renamed", "renamed.txt", "moved.txt"),
        ("type changed", "tool", None),
    ]
    assert counts["edit.py"] == (2, 2) and counts["bin.dat"] is None
    assert b"\\ No newline at end of file" in patch


# -- commits and ancestry ----------------------------------------------------------------------


def test_commits_with_parents_have_gits_ids_and_bytes(both: tuple[Repo, Repo]) -> None:
    def write(repo: Repo) -> object:
        root = commit(repo, {"a": "1"}, when=1_700_000_000)
        child = commit(repo, {"a": "2"}, [root], when=1_700_000_060)
        other = commit(repo, {"b": "x"}, when=1_700_000_030)
        merge = commit(repo, {"c": "m"}, [child, other], when=1_700_000_090)
        read = repo.read_commit(merge)
        odd = repo.create_commit(
            repo.read_commit(root).tree,
            parents=[],
            message="no newline",
            author=(" Trimmed; ", "\tme@example.com "),  # libgit2 trims a signature's ends
            committer=WHO,
            when=5,
        )
        return (
            repo.object_bytes(odd),
            root,
            child,
            merge,
            repo.object_bytes(merge),
            (read.parents, read.time, read.message),
            repo.lookup(merge),
            list(repo.first_parents(merge)),
        )

    found = on_both(both, write)
    assert isinstance(found, tuple) and b"author Trimmed <me@example.com> 5 +0000" in found[0]
    raw = found[4]
    assert isinstance(raw, bytes) and raw.startswith(b"tree ") and b"\nparent " in raw
    assert b"committer Test User <test@example.com> 1700000090 +0000\n\nat 1700000090" in raw


def test_ancestry(both: tuple[Repo, Repo]) -> None:
    def write(repo: Repo) -> object:
        a = commit(repo, {"f": "a"}, when=10)
        b = commit(repo, {"f": "b"}, [a], when=20)
        c = commit(repo, {"f": "c"}, [b], when=30)
        side = commit(repo, {"g": "s"}, [a], when=25)
        return (
            repo.is_ancestor(a, c),
            repo.is_ancestor(c, a),
            repo.is_ancestor(b, b),
            repo.is_ancestor(side, c),
            repo.commits_between(a, c),
            repo.commits_between(c, c),
            repo.commits_between(side, c),
        )

    found = on_both(both, write)
    assert isinstance(found, tuple) and found[:4] == (True, False, True, False)
    assert [subject for _, subject in found[4]] == ["at 30", "at 20"]


def test_logs_walk_in_commit_time_order_and_tips_sort_newest_first(both: tuple[Repo, Repo]) -> None:
    def write(repo: Repo) -> object:
        starts: dict[str, str] = {}
        for name, times in (("x", [10, 40, 70]), ("y", [20, 50]), ("z", [30])):
            tip: list[str] = []
            for when in times:
                tip = [commit(repo, {name: str(when)}, tip, when=when)]
            starts[name] = tip[0]
        walked = [
            (name, repo.read_commit(c).time) for c, name, _ in repo.walk_logs(starts, newest_first=True)
        ]
        oldest = [name for _, name, _ in repo.walk_logs(starts, newest_first=False)]
        return walked, oldest, repo.newest_first(sorted(starts.items()))

    walked, oldest, newest = on_both(both, write)  # type: ignore[misc]
    assert walked == [("x", 70), ("y", 50), ("x", 40), ("z", 30), ("y", 20), ("x", 10)]
    assert oldest == ["x", "y", "z", "x", "y", "x"]
    assert [n for n, _ in newest] == ["x", "y", "z"]


# -- refs ----------------------------------------------------------------------------------------


def test_refs_move_by_compare_and_swap(repo: Repo) -> None:
    first = commit(repo, {"a": "1"})
    second = commit(repo, {"a": "2"}, [first])
    name = "refs/conductor/forks/p/main"
    assert repo.ref(name) is None
    assert repo.set_ref(name, first, expect=None, message="create")
    assert repo.ref(name) == first
    assert not repo.set_ref(name, second, expect=None, message="create again")  # it exists
    assert not repo.set_ref(name, second, expect=second, message="wrong expectation")
    assert repo.ref(name) == first
    assert repo.set_ref(name, second, expect=first, message="move")
    assert repo.ref(name) == second
    assert not repo.set_ref("refs/conductor/forks/p/other", first, expect=first, message="absent")
    assert repo.ref("refs/conductor/forks/p/other") is None


def test_racing_writers_lose_no_update(repo: Repo) -> None:
    """Threads that read, build and swap: every success is one link of the chain."""
    name = "refs/conductor/counter"
    root = commit(repo, {"n": "0"})
    assert repo.set_ref(name, root, expect=None, message="start")
    won = [0] * 4
    lost = [0] * 4

    def work(worker: int) -> None:
        while won[worker] < 10:
            current = repo.ref(name)
            assert current is not None
            made = commit(repo, {f"w{worker}": str(won[worker])}, [current], when=1_700_000_000 + worker)
            if repo.set_ref(name, made, expect=current, message="step"):
                won[worker] += 1
            else:
                lost[worker] += 1

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tip = repo.ref(name)
    assert tip is not None
    assert len(list(repo.first_parents(tip))) == 1 + sum(won) == 41


def test_refs_are_listed_by_prefix_or_full_name(both: tuple[Repo, Repo]) -> None:
    def write(repo: Repo) -> object:
        target = commit(repo, {"a": "1"})
        for name in (
            refs.plan_log("p"),
            refs.plan_log("p2"),
            refs.fork_log("p", "main"),
            refs.MEMORY,
            refs.code_branch("p", "main"),
        ):
            assert repo.set_ref(name, target, expect=None, message="create")
        return (
            [n for n, _ in repo.ref_tips(refs.PLANS_PREFIX)],
            [n for n, _ in repo.ref_tips(refs.fork_log("p", ""), refs.MEMORY)],
            [n for n, _ in repo.ref_tips(refs.plan_log("p"))],
            [n for n, _ in repo.ref_tips(refs.STATE_PREFIX)],
            repo.ref_tips("refs/conductor/nothing/"),
        )

    found = on_both(both, write)
    assert isinstance(found, tuple) and found[2] == [refs.plan_log("p")]


# -- a Ledger on each ----------------------------------------------------------------------------


def clock() -> Callable[[], dt.datetime]:
    """Readings 300 ms apart: several events share a second, as in a real run."""
    start, ticks = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), itertools.count(1)
    return lambda: start + dt.timedelta(milliseconds=300 * next(ticks))


def archived(repo: Repo) -> tuple[Ledger, str, str]:
    """A Ledger whose log p/main is archived, with no live ref: (ledger, its tip, the index)."""
    ledger = Ledger(clock=clock(), repo=repo)
    kept = ledger.append(refs.fork_log("old", "scratch"), ev(EventType.FORK_CREATED, plan="p"))
    tip = str(kept.commit)
    index = ledger.commit_records(
        None, {refs.archive_entry("p", "main"): f"{tip}\n"}, parents=[tip], message="x"
    )
    assert repo.set_ref(refs.ARCHIVE, index, expect=None, message="archive")
    return ledger, tip, index


def run_ledger(repo: Repo) -> object:
    """The same appends and reads, returning everything they show."""
    ledger = Ledger(clock=clock(), repo=repo)
    plan, fork = refs.plan_log("p"), refs.fork_log("p", "main")
    recorded = [
        ledger.append(plan, ev(EventType.PLAN_CREATED, plan="p", fork=None), {"plan.json": "{}"}),
        ledger.append(fork, ev(EventType.FORK_CREATED, plan="p"), {"fork.json": "{}"}),
        ledger.append(
            fork,
            ev(EventType.TASK_CREATED, "step_001", 1, plan="p"),
            lambda snap: {"pending/step_001.task.json": "{}"} if snap is not None else None,
            fold=lambda snap, event: {"state.json": f'{{"seq": {event.seq}}}'},
        ),
        ledger.append(refs.fork_log("q", "main"), ev(EventType.FORK_CREATED, plan="q"), {"fork.json": "{}"}),
        ledger.append(
            fork, ev(EventType.NOTE, plan="p", summary="moved"), {"pending/step_001.task.json": None}
        ),
    ]
    nothing = ledger.append_once(fork, ev(EventType.NOTE, plan="p"), lambda snap: None)
    tip = ledger.tip(fork)
    assert tip is not None
    first = ledger.at(str(recorded[1].commit), ref=fork)
    return (
        recorded,
        nothing,
        list(ledger.events()),
        list(ledger.events(newest_first=False)),
        list(ledger.events(limit=3)),
        list(ledger.events(plan="p", types=[EventType.NOTE])),
        list(ledger.log(fork, newest_first=False)),
        ledger.event_logs(plan="p"),
        (tip.commit_id, tip.tree_id, tip.listdir(), list(tip.files()), tip.read("state.json")),
        (first.event, first.exists("fork.json"), first.read_text("fork.json")),
        ledger.plans(),
        ledger.forks("p"),
    )


def test_a_ledger_on_each_records_the_same_events_and_commits(both: tuple[Repo, Repo]) -> None:
    found = on_both(both, run_ledger)
    assert isinstance(found, tuple)
    recorded, events = found[0], found[2]
    assert [e.seq for e in recorded] == [1, 1, 2, 1, 3]
    assert [e.commit for e in events] == [e.commit for e in sorted(recorded, key=lambda e: str(e.time))][::-1]


def test_an_archived_log_is_where_a_log_ends_but_no_ref_points_there(both: tuple[Repo, Repo]) -> None:
    def write(repo: Repo) -> object:
        ledger, _, _ = archived(repo)
        fork = refs.fork_log("p", "main")
        tip = ledger.tip(fork)
        assert tip is not None
        again = ledger.append(fork, ev(EventType.NOTE, plan="p"))  # the archived log goes on, live again
        return (
            ledger.points_at(fork) == again.commit,
            ledger.archived_forks("p"),
            tip.commit_id,
            again.seq,
            ledger.log_end(refs.fork_log("p", "none")),
        )

    found = on_both(both, write)
    assert isinstance(found, tuple) and found[1] == ["main"] and found[3] == 2 and found[4] is None


def test_points_at_reads_the_ref_only_and_log_end_the_archive_too(repo: Repo) -> None:
    ledger, kept, index = archived(repo)
    fork = refs.fork_log("p", "main")
    assert ledger.points_at(fork) is None
    assert ledger.log_end(fork) == kept
    assert not hasattr(ledger, "ref_target")  # one name per question, no mix of the two
    assert ledger.points_at(refs.ARCHIVE) == index == ledger.log_end(refs.ARCHIVE)


def test_an_archive_index_naming_no_commit_is_a_clear_error(repo: Repo) -> None:
    ledger = Ledger(clock=clock(), repo=repo)
    index = ledger.commit_records(
        None, {refs.archive_entry("p", "main"): "f" * 40 + "\n"}, parents=[], message="x"
    )
    assert repo.set_ref(refs.ARCHIVE, index, expect=None, message="archive")
    with pytest.raises(LedgerError, match="names no commit here"):
        ledger.tip(refs.fork_log("p", "main"))


def test_an_in_memory_ledger_needs_no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an in-memory ledger started a process")

    monkeypatch.setattr("subprocess.run", refuse)
    monkeypatch.setattr("subprocess.Popen", refuse)
    ledger = Ledger.in_memory(clock=clock())
    ref = refs.fork_log("p", "main")
    ledger.append(ref, ev(EventType.FORK_CREATED, plan="p"), {"fork.json": "{}"})
    ledger.append(ref, ev(EventType.NOTE, plan="p"))
    assert [e.seq for e in ledger.events()] == [2, 1]
    assert [e.seq for e in ledger.events(limit=1)] == [2]
    assert ledger.ref_names() == [ref]
    assert ledger.identity() == ("Conductor", "conductor@localhost")
    with pytest.raises(LedgerError, match="in memory"):
        ledger.git_dir  # noqa: B018
    assert Ledger.in_memory(git_dir=Path("/somewhere")).git_dir == Path("/somewhere")


LINES = [f"line {n}\n" for n in range(1, 31)]


@pytest.mark.parametrize(
    "edit",
    [
        lambda lines: ["new first\n", *lines],
        lambda lines: lines[1:],
        lambda lines: [*lines, "new last\n"],
        lambda lines: [*lines[:-1], "line 30"],  # the last newline goes
        lambda lines: [*lines[:5], "x\n", *lines[6:12], "y\n", *lines[13:]],  # 6 lines apart: one hunk
        lambda lines: [*lines[:5], "x\n", *lines[6:13], "y\n", *lines[14:]],  # 7 apart: two
        lambda lines: lines[:10] + lines[20:],
        lambda lines: [],
    ],
    ids=["prepend", "drop-first", "append", "no-newline", "close", "apart", "cut", "emptied"],
)
def test_patches_are_the_same_on_both(
    both: tuple[Repo, Repo], edit: Callable[[list[str]], list[str]]
) -> None:
    def write(repo: Repo) -> object:
        before = repo.apply(None, {"f.txt": "".join(LINES)})
        after = repo.apply(None, {"f.txt": "".join(edit(list(LINES)))})
        found = repo.diff_trees(before, after, ["f.txt"])
        return found.counts, found.patch

    on_both(both, write)
