"""A read-only view of the records as they were right after one event."""

from __future__ import annotations

from collections.abc import Iterator

import pygit2
from pygit2.enums import ObjectType

from conductor.ledger import tree
from conductor.models.event import Event


class Snapshot:
    """The record tree of one ledger commit, plus the event that commit recorded."""

    def __init__(self, repo: pygit2.Repository, commit: pygit2.Commit, event: Event) -> None:
        self._repo = repo
        self._commit = commit
        self.event = event

    @property
    def commit_id(self) -> str:
        return str(self._commit.id)

    @property
    def tree_id(self) -> str:
        return str(self._commit.tree_id)

    def read(self, path: str) -> bytes | None:
        """The bytes of the record at `path`, or None."""
        return tree.read(self._repo, self._commit.tree, path)

    def read_text(self, path: str) -> str | None:
        raw = self.read(path)
        return raw.decode("utf-8") if raw is not None else None

    def listdir(self, path: str = "") -> list[str]:
        """Names directly under `path` ('' for the root), sorted."""
        return tree.listdir(self._repo, self._commit.tree, path)

    def exists(self, path: str) -> bool:
        try:
            self._commit.tree[path]
        except KeyError:
            return False
        return True

    def files(self, path: str = "") -> Iterator[str]:
        """Every blob path under `path`, recursively, in tree order."""
        root: pygit2.Tree = self._commit.tree
        if path:
            try:
                entry = root[path]
            except KeyError:
                return
            if entry.type != ObjectType.TREE:
                return
            found = self._repo[entry.id]
            assert isinstance(found, pygit2.Tree)
            root = found
        yield from _walk(self._repo, root, path)


def _walk(repo: pygit2.Repository, root: pygit2.Tree, prefix: str) -> Iterator[str]:
    for entry in root:
        path = f"{prefix}/{entry.name}" if prefix else str(entry.name)
        if entry.type == ObjectType.TREE:
            sub = repo[entry.id]
            assert isinstance(sub, pygit2.Tree)
            yield from _walk(repo, sub, path)
        else:
            yield path
