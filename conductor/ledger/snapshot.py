"""A read-only view of the records as they were right after one event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, cast, overload

from conductor.ledger.repo import Commit, TreeView
from conductor.models.event import Event

if TYPE_CHECKING:
    import pygit2


class Snapshot:
    """The record tree of one ledger commit, plus the event that commit recorded.

    Made by a Ledger from its Repo's tree view and commit; `Snapshot(repo, commit, event)` with
    a pygit2 repository and commit is the older form (bench/status_scale.py still uses it)."""

    @overload
    def __init__(self, records: TreeView, commit: Commit, event: Event) -> None: ...

    @overload
    def __init__(self, records: pygit2.Repository, commit: pygit2.Commit, event: Event) -> None: ...

    def __init__(
        self, records: TreeView | pygit2.Repository, commit: Commit | pygit2.Commit, event: Event
    ) -> None:
        self.event = event
        if isinstance(commit, Commit):
            self._records = cast(TreeView, records)
            self.commit_id, self.tree_id = commit.id, commit.tree
        else:
            from conductor.ledger.tree import GitTree

            self._records = GitTree(cast("pygit2.Repository", records), commit.tree)
            self.commit_id, self.tree_id = str(commit.id), str(commit.tree_id)

    def read(self, path: str) -> bytes | None:
        """The bytes of the record at `path`, or None."""
        return self._records.read(path)

    def read_text(self, path: str) -> str | None:
        raw = self.read(path)
        return raw.decode("utf-8") if raw is not None else None

    def listdir(self, path: str = "") -> list[str]:
        """Names directly under `path` ('' for the root), sorted."""
        return self._records.listdir(path)

    def exists(self, path: str) -> bool:
        return self._records.exists(path)

    def files(self, path: str = "") -> Iterator[str]:
        """Every blob path under `path`, recursively, in tree order."""
        return self._records.files(path)
