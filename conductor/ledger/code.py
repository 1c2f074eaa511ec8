"""Code objects: trees and commits of the user's project (not Conductor's records).

Verification builds the tree of a step from the fork tip plus the files the executor
changed, diffs it against the tip, and commits it — all in objects, touching only the
changed paths, so the cost follows the size of the change and not of the repository.
Nothing here is redacted: it is the user's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import FileMode, ObjectType

from conductor.gitdiff import Change
from conductor.ledger import tree


@dataclass
class TreeDiff:
    """What changed between two trees: changes (renames found), line counts, a patch."""

    changes: list[Change] = field(default_factory=list)
    counts: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    patch: bytes = b""


def _mode(value: int) -> str:
    return f"{value:06o}" if value else "000000"


def build(repo: pygit2.Repository, base_tree: str, files: Mapping[str, tree.Entry | None]) -> str:
    base = repo.get(base_tree)
    assert isinstance(base, pygit2.Tree)
    return str(tree.apply(repo, base, files))


Item = tuple[pygit2.Oid, int]


def _lookup(repo: pygit2.Repository, root: pygit2.Tree, path: str) -> Item | None:
    try:
        item = root[path]
    except KeyError:
        return None
    if item.type == ObjectType.TREE:
        return None
    return item.id, int(item.filemode)


def _expand(repo: pygit2.Repository, root: pygit2.Tree, path: str) -> list[str]:
    try:
        item = root[path]
    except KeyError:
        return [path]
    if item.type != ObjectType.TREE:
        return [path]
    out: list[str] = []
    stack = [(path, repo.get(item.id))]
    while stack:
        prefix, sub = stack.pop()
        assert isinstance(sub, pygit2.Tree)
        for child in sub:
            child_path = f"{prefix}/{child.name}"
            if child.type == ObjectType.TREE:
                stack.append((child_path, repo.get(child.id)))
            else:
                out.append(child_path)
    return out


class _Patch:
    """A patch between two blobs, holding the blobs: libgit2's patch points into their data."""

    def __init__(
        self, repo: pygit2.Repository, old: Item | None, new: Item | None, old_path: str, new_path: str
    ):
        self.old_blob = repo.get(old[0]) if old else None
        self.new_blob = repo.get(new[0]) if new else None
        assert self.old_blob is None or isinstance(self.old_blob, pygit2.Blob)
        assert self.new_blob is None or isinstance(self.new_blob, pygit2.Blob)
        self.patch = pygit2.Patch.create_from(
            self.old_blob, self.new_blob, old_as_path=old_path, new_as_path=new_path
        )


def _similarity(held: _Patch) -> float:
    """Share of lines kept, as git's rename detection estimates it (0..1)."""
    patch = held.patch
    if patch.delta.is_binary:
        return 0.0
    context, added, deleted = patch.line_stats
    total = max(context + deleted, context + added)
    return context / total if total else 1.0


RENAME_THRESHOLD = 0.5  # git's default (-M50%)


def diff_paths(repo: pygit2.Repository, old_tree: str, new_tree: str, paths: list[str]) -> TreeDiff:
    """The difference between two trees at `paths` only (directories expand to their files):
    the cost follows the number of paths, not the size of the trees."""
    old_root, new_root = repo.get(old_tree), repo.get(new_tree)
    assert isinstance(old_root, pygit2.Tree) and isinstance(new_root, pygit2.Tree)
    files = sorted({f for p in paths for f in (*_expand(repo, old_root, p), *_expand(repo, new_root, p))})
    added: dict[str, Item] = {}
    deleted: dict[str, Item] = {}
    modified: list[tuple[str, Item, Item]] = []
    for path in files:
        old, new = _lookup(repo, old_root, path), _lookup(repo, new_root, path)
        if old == new:
            continue
        if old is None and new is not None:
            added[path] = new
        elif new is None and old is not None:
            deleted[path] = old
        elif old is not None and new is not None:
            modified.append((path, old, new))
    result = TreeDiff()

    def add(
        kind: str,
        old_path: str,
        new_path: str,
        old: Item | None,
        new: Item | None,
        held: _Patch,
    ) -> None:
        patch = held.patch
        change = Change(
            kind,
            new_path,
            old_path if kind == "renamed" else None,
            _mode(old[1] if old else 0),
            _mode(new[1] if new else 0),
            str(new[0]) if new else "",
        )
        result.changes.append(change)
        if patch.delta.is_binary:
            result.counts[new_path] = None
            result.sizes[new_path] = max(patch.delta.new_file.size, patch.delta.old_file.size)
        else:
            _, plus, minus = patch.line_stats
            result.counts[new_path] = (plus, minus)
        data = patch.data
        if kind == "renamed" and not data:  # identical content: git shows only the rename
            header = f"diff --git a/{old_path} b/{new_path}\n"
            data = f"{header}rename from {old_path}\nrename to {new_path}\n".encode()
        patches.append(data)

    patches: list[bytes] = []
    # renames: exact content first, then similar content (both sides must be plain files)
    for old_path, old in list(deleted.items()):
        match = next((p for p, new in added.items() if new[0] == old[0]), None)
        if match is None:
            best, score = None, RENAME_THRESHOLD
            for new_path, new in added.items():
                candidate = _Patch(repo, old, new, old_path, new_path)
                found = _similarity(candidate)
                if found >= score:
                    best, score = new_path, found
            match = best
        if match is not None:
            new = added.pop(match)
            del deleted[old_path]
            add("renamed", old_path, match, old, new, _Patch(repo, old, new, old_path, match))
    for path, old, new in modified:
        kind = "type changed" if (old[1] == FileMode.LINK) != (new[1] == FileMode.LINK) else "modified"
        add(kind, path, path, old, new, _Patch(repo, old, new, path, path))
    for path, new in added.items():
        add("added", path, path, None, new, _Patch(repo, None, new, path, path))
    for path, old in deleted.items():
        add("deleted", path, path, old, None, _Patch(repo, old, None, path, path))
    result.changes.sort(key=lambda c: c.path)
    result.patch = b"".join(patches)
    return result


def changed_paths(repo: pygit2.Repository, old_tree: str, new_tree: str) -> list[str]:
    """Every path whose entry differs between two trees (both sides of a rename): equal
    subtrees are skipped, so the cost follows the difference."""
    old, new = repo[pygit2.Oid(hex=old_tree)], repo[pygit2.Oid(hex=new_tree)]
    assert isinstance(old, pygit2.Tree) and isinstance(new, pygit2.Tree)
    found: set[str] = set()
    for delta in old.diff_to_tree(new).deltas:
        found.update(p for p in (delta.old_file.path, delta.new_file.path) if p)
    return sorted(found)


def commit(
    repo: pygit2.Repository,
    tree_id: str,
    *,
    parent: str,
    message: str,
    author: tuple[str, str],
    committer: tuple[str, str],
    when: int,
) -> str:
    made = repo.create_commit(
        None,
        pygit2.Signature(author[0], author[1], when, 0),
        pygit2.Signature(committer[0], committer[1], when, 0),
        message,
        pygit2.Oid(hex=tree_id),
        [pygit2.Oid(hex=parent)],
    )
    return str(made)


def entry(repo: pygit2.Repository, commit: str, path: str) -> tuple[str, tree.Entry | None]:
    """What `path` is at `commit`: ("blob", (mode, data)), ("tree", None) or ("none", None)."""
    found = repo.get(commit)
    assert isinstance(found, pygit2.Commit)
    try:
        item = found.tree[path]
    except KeyError:
        return "none", None
    if item.type == ObjectType.TREE:
        return "tree", None
    if item.filemode == FileMode.COMMIT:
        return "none", None
    blob = repo.get(item.id)
    assert isinstance(blob, pygit2.Blob)
    return "blob", (int(item.filemode), blob.data)


@dataclass(frozen=True)
class Found:
    """What a path is at a commit, without reading a blob: its kind ("blob", "tree" or "none"),
    and for a blob its mode, object id and size."""

    kind: str
    mode: int = 0
    oid: str = ""
    size: int = 0


def find(repo: pygit2.Repository, commit: str, path: str) -> Found:
    """What `path` is at `commit`. A blob's size comes from its object header: the blob is not
    inflated (`repo.get(oid).size` would inflate it whole)."""
    found = repo.get(commit)
    assert isinstance(found, pygit2.Commit)
    try:
        item = found.tree[path]
    except KeyError:
        return Found("none")
    if item.type == ObjectType.TREE:
        return Found("tree")
    if item.filemode == FileMode.COMMIT:
        return Found("none")
    _, size = repo.odb.read_header(item.id)
    return Found("blob", int(item.filemode), str(item.id), int(size))


def files_under(repo: pygit2.Repository, commit: str, path: str) -> list[str]:
    """Every file path under directory `path` at `commit`."""
    found = repo.get(commit)
    assert isinstance(found, pygit2.Commit)
    try:
        item = found.tree[path]
    except KeyError:
        return []
    sub = repo.get(item.id)
    if not isinstance(sub, pygit2.Tree):
        return []
    out: list[str] = []
    stack = [(path, sub)]
    while stack:
        prefix, current = stack.pop()
        for child in current:
            child_path = f"{prefix}/{child.name}"
            if child.type == ObjectType.TREE:
                nested = repo.get(child.id)
                assert isinstance(nested, pygit2.Tree)
                stack.append((child_path, nested))
            else:
                out.append(child_path)
    return out
