"""Observing a change: the watcher and `git status` agree with each other and with git itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conductor.ledger.store import Ledger
from conductor.runner.fork.inspection import observe
from conductor.runner.place import detection
from conductor.runner.place.worktree import Worktree
from tests.conftest import git


@pytest.fixture
def tree(repo: Path) -> Path:
    (repo / ".gitignore").write_text("*.log\nbuild/\n")
    (repo / "keep.py").write_text("keep\n")
    (repo / "edit.py").write_text("old\n")
    (repo / "gone.py").write_text("bye\n")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "old_dir").mkdir()
    (repo / "old_dir" / "a.py").write_text("a\n")
    (repo / "old_dir" / "b.py").write_text("b\n")
    (repo / "move_me.py").write_text("some content that will move\n" * 5)
    (repo / "tracked.log").write_text("tracked even though ignored\n")
    git(repo, "add", "-A")
    git(repo, "add", "-f", "tracked.log")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def make_changes(root: Path) -> None:
    (root / "edit.py").write_text("new\n")
    (root / "gone.py").unlink()
    (root / "new" / "deep").mkdir(parents=True)
    (root / "new" / "deep" / "n.py").write_text("n\n")
    os.chmod(root / "run.sh", 0o755)
    os.symlink("keep.py", root / "link.py")
    for name in ("a.py", "b.py"):
        (root / "old_dir" / name).unlink()
    (root / "old_dir").rmdir()
    (root / "move_me.py").rename(root / "moved.py")
    (root / "debug.log").write_text("ignored\n")
    (root / "build").mkdir()
    (root / "build" / "out.o").write_text("ignored\n")
    (root / "tracked.log").write_text("changed\n")


def test_watcher_and_status_observe_the_same_change_as_git(tree: Path) -> None:
    ledger = Ledger(tree)
    head = git(tree, "rev-parse", "HEAD").strip()
    watcher = detection.Watcher(tree)
    assert watcher.active
    make_changes(tree)
    drained = watcher.drain()
    watcher.close()
    assert drained is not None and "edit.py" in drained and "gone.py" in drained
    worktree = Worktree(tree, repo_root=tree)
    by_watch = observe(ledger, worktree, head, drained)
    by_status = observe(ledger, worktree, head, None)
    git(tree, "add", "-A")
    assert by_watch.tree == by_status.tree == git(tree, "write-tree").strip()
    kinds = {(c.kind, c.path, c.old_path) for c in by_watch.diff.changes}
    assert ("modified", "edit.py", None) in kinds and ("deleted", "gone.py", None) in kinds
    assert ("added", "new/deep/n.py", None) in kinds and ("added", "link.py", None) in kinds
    assert ("renamed", "moved.py", "move_me.py") in kinds
    assert ("deleted", "old_dir/a.py", None) in kinds and ("modified", "tracked.log", None) in kinds
    mode = next(c for c in by_watch.diff.changes if c.path == "run.sh")
    assert mode.old_mode == "100644" and mode.new_mode == "100755"
    link = next(c for c in by_watch.diff.changes if c.path == "link.py")
    assert link.new_mode == "120000"
    assert "debug.log" not in by_watch.paths and "build/out.o" not in by_watch.paths
    assert by_watch.diff.counts["edit.py"] == (1, 1)
    assert b"+new" in by_watch.diff.patch


def test_a_nested_repository_is_seen_not_stored(tree: Path) -> None:
    ledger = Ledger(tree)
    head = git(tree, "rev-parse", "HEAD").strip()
    (tree / "vendor").mkdir()
    git(tree / "vendor", "init", "-q")
    (tree / "vendor" / "x.py").write_text("x\n")
    observed = observe(ledger, Worktree(tree, repo_root=tree), head, None)
    assert observed.changed.nested_repos == ["vendor"]
    assert observed.diff.changes == []


def test_settle_puts_the_observed_state_back(tree: Path) -> None:
    from conductor.runner.fork.inspection import settle

    ledger = Ledger(tree)
    head = git(tree, "rev-parse", "HEAD").strip()
    (tree / "edit.py").write_text("the step's change\n")
    observed = observe(ledger, Worktree(tree, repo_root=tree), head, {"edit.py"})
    # what a verify command might do afterwards
    (tree / "edit.py").write_text("reformatted\n")
    (tree / "keep.py").write_text("touched\n")
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "x.pyc").write_bytes(b"\0")
    settle(
        Worktree(tree, repo_root=tree),
        ledger,
        observed,
        {"edit.py", "keep.py", "__pycache__", "__pycache__/x.pyc"},
    )
    assert (tree / "edit.py").read_text() == "the step's change\n"
    assert (tree / "keep.py").read_text() == "keep\n"
    assert not (tree / "__pycache__").exists()


def test_the_index_sync_sets_committed_entries_and_reports_its_failure_on_settle(tree: Path) -> None:
    from conductor.errors import ConductorError
    from conductor.runner.place.index_sync import IndexSync

    blob = git(tree, "hash-object", "-w", "--stdin", input="synced\n").strip()
    sync = IndexSync(Worktree(tree, repo_root=tree))
    sync.start([("100644", blob, "new.txt")])
    sync.settle()
    assert git(tree, "ls-files", "-s", "new.txt").split()[1] == blob
    sync.start([("100644", "not-an-object-id", "broken.txt")])  # git refuses the line
    with pytest.raises(ConductorError, match="`git update-index --index-info` failed: fatal: malformed"):
        sync.settle()
    sync.settle()  # reported once


SMALL = detection.Limits(file_bytes=1000, change_bytes=2500)


def test_a_file_over_the_limit_is_named_by_its_apparent_size_and_never_read(tree: Path) -> None:
    ledger = Ledger(tree)
    head = git(tree, "rev-parse", "HEAD").strip()
    with open(tree / "huge.bin", "wb") as f:
        f.truncate(30 << 30)  # 30 GiB of hole: no disk, and no memory if it is never read
    with open(tree / "edit.py", "wb") as f:
        f.truncate(1001)  # a tracked file grown one byte past the limit
    (tree / "fine.py").write_text("x" * 1000)
    snap = detection.read_changes(tree, ledger, head, ["huge.bin", "edit.py", "fine.py"], limits=SMALL)
    assert snap.oversized == {"huge.bin": 30 << 30, "edit.py": 1001}
    assert sorted(snap.files) == ["fine.py"] and snap.unread_bytes == 0


def test_a_change_over_its_limit_is_read_not_at_all(tree: Path) -> None:
    ledger = Ledger(tree)
    head = git(tree, "rev-parse", "HEAD").strip()
    for name in ("a.txt", "b.txt", "c.txt"):
        (tree / name).write_text("x" * 900)
    (tree / "gone.py").unlink()
    snap = detection.read_changes(tree, ledger, head, ["a.txt", "b.txt", "c.txt", "gone.py"], limits=SMALL)
    assert snap.unread_bytes == 2700 and snap.oversized == {}
    assert snap.files == {"gone.py": None}  # deletions cost nothing to read


def test_a_file_swapped_for_a_fifo_or_unreadable_is_no_hang_and_no_crash(tree: Path) -> None:
    ledger = Ledger(tree)
    head = git(tree, "rev-parse", "HEAD").strip()
    os.mkfifo(tree / "pipe.py")
    (tree / "secret.py").write_text("x\n")
    os.chmod(tree / "secret.py", 0)
    snap = detection.read_changes(tree, ledger, head, ["pipe.py", "secret.py"], limits=SMALL)
    assert "pipe.py" not in snap.files
    if os.geteuid() != 0:  # root reads it all the same
        assert "secret.py" in snap.unreadable and "secret.py" not in snap.files
    # the file turned into a FIFO between its size being looked at and its reading: not read
    with pytest.raises(OSError):
        detection._read(tree / "pipe.py", 1000)


def test_a_big_tracked_file_written_back_as_it_was_is_no_change(tree: Path) -> None:
    (tree / "data.bin").write_bytes(bytes(range(256)) * 8)  # 2 KiB, over SMALL's file limit
    git(tree, "add", "data.bin")
    git(tree, "commit", "-q", "-m", "data")
    ledger = Ledger(tree)
    head = git(tree, "rev-parse", "HEAD").strip()
    (tree / "data.bin").write_bytes(bytes(range(256)) * 8)
    assert detection.read_changes(tree, ledger, head, ["data.bin"], limits=SMALL).oversized == {}
    (tree / "data.bin").write_bytes(bytes(reversed(range(256))) * 8)  # same size, other bytes
    assert detection.read_changes(tree, ledger, head, ["data.bin"], limits=SMALL).oversized == {
        "data.bin": 2048
    }
    os.chmod(tree / "data.bin", 0o755)
    (tree / "data.bin").write_bytes(bytes(range(256)) * 8)  # the same bytes, but now executable
    assert detection.read_changes(tree, ledger, head, ["data.bin"], limits=SMALL).oversized == {
        "data.bin": 2048
    }
