"""Record trees through pygit2: a new tree from an old one plus a set of path changes, touching
only what changed, and a tree read by path (`GitTree`, a conductor.ledger.repo.TreeView).

Only the directories on a changed path are rebuilt; every other entry (and every unchanged
record) keeps its object id, so a snapshot per event costs a few small objects.
"""

from __future__ import annotations

from collections.abc import Iterator

import pygit2
from pygit2.enums import FileMode, ObjectType

from conductor.ledger.changes import Changes, Entry, as_entry, split

__all__ = ["Changes", "Entry", "GitTree", "apply", "listdir", "read"]

TREE_CACHE_LIMIT = 16 << 20
"""libgit2 keeps parsed trees in its object cache only up to 4 KB by default. A long fork's
`completed/` (four records a step: 40 KB at 200 steps) is bigger, so every read by path
inflated and parsed it again — each read cost what the fork's history weighs. Trees up to
this size stay cached (libgit2's cache is bounded as a whole); the setting is the process's."""

pygit2.settings.cache_object_limit(ObjectType.TREE, TREE_CACHE_LIMIT)


def apply(repo: pygit2.Repository, base: pygit2.Tree | None, changes: Changes) -> pygit2.Oid:
    """Write the tree `base` + `changes` and return its id."""
    built = _build(repo, base, changes)
    return built if built is not None else repo.TreeBuilder().write()


def _build(repo: pygit2.Repository, base: pygit2.Tree | None, changes: Changes) -> pygit2.Oid | None:
    """Write `base` + `changes`; None instead of writing an empty tree (never stored)."""
    direct, nested = split(changes)
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, content in direct.items():
        if content is None:
            if builder.get(name) is not None:
                builder.remove(name)
            continue
        mode, data = as_entry(content)
        builder.insert(name, repo.create_blob(data), mode)
    for name, sub_changes in nested.items():
        sub_base = _subtree(repo, base, name)
        sub_id = _build(repo, sub_base, sub_changes)
        if sub_id is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, sub_id, FileMode.TREE)
    return builder.write() if len(builder) else None


def _subtree(repo: pygit2.Repository, base: pygit2.Tree | None, name: str) -> pygit2.Tree | None:
    if base is None or name not in base:
        return None
    entry = base[name]
    if entry.type != ObjectType.TREE:
        return None
    obj = repo[entry.id]
    assert isinstance(obj, pygit2.Tree)
    return obj


def read(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> bytes | None:
    """The content of the blob at `path`, or None when there is none."""
    try:
        entry = tree[path]
    except KeyError:
        return None
    if entry.type != ObjectType.BLOB:
        return None
    blob = repo[entry.id]
    assert isinstance(blob, pygit2.Blob)
    return blob.data


def listdir(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> list[str]:
    """Names directly under directory `path` ('' for the root), sorted; [] if absent."""
    if path:
        try:
            entry = tree[path]
        except KeyError:
            return []
        if entry.type != ObjectType.TREE:
            return []
        sub = repo[entry.id]
        assert isinstance(sub, pygit2.Tree)
        tree = sub
    return sorted(entry.name for entry in tree if entry.name is not None)


class GitTree:
    """One tree of a pygit2 repository, read by path (holding libgit2 objects: one thread's)."""

    def __init__(self, repo: pygit2.Repository, tree: pygit2.Tree) -> None:
        self._repo = repo
        self._tree = tree

    def read(self, path: str) -> bytes | None:
        return read(self._repo, self._tree, path)

    def listdir(self, path: str = "") -> list[str]:
        return listdir(self._repo, self._tree, path)

    def exists(self, path: str) -> bool:
        try:
            self._tree[path]
        except KeyError:
            return False
        return True

    def files(self, path: str = "") -> Iterator[str]:
        root = self._tree
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
