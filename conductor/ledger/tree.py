"""Building a new tree from an old one plus a set of path changes, touching only what changed.

Only the directories on a changed path are rebuilt; every other entry (and every unchanged
record) keeps its object id, so a snapshot per event costs a few small objects.
"""

from __future__ import annotations

from collections.abc import Mapping

import pygit2
from pygit2.enums import FileMode, ObjectType

TREE_CACHE_LIMIT = 16 << 20
"""libgit2 keeps parsed trees in its object cache only up to 4 KB by default. A long fork's
`completed/` (four records a step: 40 KB at 200 steps) is bigger, so every read by path
inflated and parsed it again — each read cost what the fork's history weighs. Trees up to
this size stay cached (libgit2's cache is bounded as a whole); the setting is the process's."""

pygit2.settings.cache_object_limit(ObjectType.TREE, TREE_CACHE_LIMIT)

Entry = tuple[int, bytes]
"""A file with its git mode: (0o100644 | 0o100755 | 0o120000 for a symlink's target, data)."""

Changes = Mapping[str, bytes | str | Entry | None]
"""Path -> new content (bytes or text, a regular file), an Entry, or None to delete the path."""


def check_path(path: str) -> list[str]:
    """Split a record path, refusing anything that is not a plain relative path."""
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", "..", ".git") or "\x00" in part:
            raise ValueError(f"invalid ledger path '{path}'")
    return parts


def apply(repo: pygit2.Repository, base: pygit2.Tree | None, changes: Changes) -> pygit2.Oid:
    """Write the tree `base` + `changes` and return its id."""
    built = _build(repo, base, changes)
    return built if built is not None else repo.TreeBuilder().write()


def _build(repo: pygit2.Repository, base: pygit2.Tree | None, changes: Changes) -> pygit2.Oid | None:
    """Write `base` + `changes`; None instead of writing an empty tree (never stored)."""
    direct: dict[str, bytes | str | Entry | None] = {}
    nested: dict[str, dict[str, bytes | str | Entry | None]] = {}
    for path, content in changes.items():
        head, *rest = check_path(path)
        if rest:
            nested.setdefault(head, {})["/".join(rest)] = content
        else:
            direct[head] = content
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, content in direct.items():
        if content is None:
            if builder.get(name) is not None:
                builder.remove(name)
            continue
        if isinstance(content, tuple):
            mode, data = content
        else:
            mode, data = FileMode.BLOB, content.encode("utf-8") if isinstance(content, str) else content
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
