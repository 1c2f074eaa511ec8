"""Trees and blobs through pygit2: what GitRepo (conductor.ledger.gitrepo) reads by path.

Verification builds the tree of a step from the fork tip plus the files the executor
changed, diffs it against the tip, and commits it — all in objects, touching only the
changed paths, so the cost follows the size of the change and not of the repository.
Nothing here is redacted: it is the user's code.
"""

from __future__ import annotations

import pygit2
from pygit2.enums import FileMode, ObjectType

from conductor.ledger import diff
from conductor.ledger.changes import Entry
from conductor.ledger.repo import Found, TreeDiff

__all__ = ["Found", "TreeDiff", "changed_paths", "diff_paths", "entry", "files_under", "find"]


def _tree(repo: pygit2.Repository, oid: str) -> pygit2.Tree:
    found = repo.get(oid)
    assert isinstance(found, pygit2.Tree)
    return found


def _commit_tree(repo: pygit2.Repository, commit: str) -> pygit2.Tree:
    found = repo.get(commit)
    assert isinstance(found, pygit2.Commit)
    return found.tree


def _lookup(root: pygit2.Tree, path: str) -> diff.Item | None:
    try:
        item = root[path]
    except KeyError:
        return None
    if item.type == ObjectType.TREE:
        return None
    return str(item.id), int(item.filemode)


def _files(repo: pygit2.Repository, root: pygit2.Tree, path: str) -> list[str] | None:
    """Every file under directory `path` of `root`; None when `path` is no directory there."""
    try:
        item = root[path]
    except KeyError:
        return None
    sub = repo.get(item.id) if item.type == ObjectType.TREE else None
    if not isinstance(sub, pygit2.Tree):
        return None
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


class _Patch:
    """A patch between two blobs, holding the blobs: libgit2's patch points into their data."""

    def __init__(
        self,
        repo: pygit2.Repository,
        old: diff.Item | None,
        new: diff.Item | None,
        old_path: str,
        new_path: str,
    ):
        self.old_blob = repo.get(old[0]) if old else None
        self.new_blob = repo.get(new[0]) if new else None
        assert self.old_blob is None or isinstance(self.old_blob, pygit2.Blob)
        assert self.new_blob is None or isinstance(self.new_blob, pygit2.Blob)
        self.patch = pygit2.Patch.create_from(
            self.old_blob, self.new_blob, old_as_path=old_path, new_as_path=new_path
        )

    @property
    def binary(self) -> bool:
        return bool(self.patch.delta.is_binary)

    @property
    def line_stats(self) -> tuple[int, int, int]:
        context, added, deleted = self.patch.line_stats
        return context, added, deleted

    @property
    def size(self) -> int:
        delta = self.patch.delta
        return max(delta.new_file.size, delta.old_file.size)

    @property
    def data(self) -> bytes:
        return bytes(self.patch.data)


class _Sides:
    def __init__(self, repo: pygit2.Repository, old_tree: str, new_tree: str) -> None:
        self.repo = repo
        self.old_root, self.new_root = _tree(repo, old_tree), _tree(repo, new_tree)

    def expand(self, path: str) -> list[str]:
        found: list[str] = []
        for root in (self.old_root, self.new_root):
            files = _files(self.repo, root, path)
            found += [path] if files is None else files
        return found

    def old(self, path: str) -> diff.Item | None:
        return _lookup(self.old_root, path)

    def new(self, path: str) -> diff.Item | None:
        return _lookup(self.new_root, path)

    def patch(self, old: diff.Item | None, new: diff.Item | None, old_path: str, new_path: str) -> _Patch:
        return _Patch(self.repo, old, new, old_path, new_path)


def diff_paths(repo: pygit2.Repository, old_tree: str, new_tree: str, paths: list[str]) -> TreeDiff:
    """The difference between two trees at `paths` only (conductor.ledger.diff)."""
    return diff.diff_paths(_Sides(repo, old_tree, new_tree), paths)


def changed_paths(repo: pygit2.Repository, old_tree: str, new_tree: str) -> list[str]:
    """Every path whose entry differs between two trees (both sides of a rename): equal
    subtrees are skipped, so the cost follows the difference."""
    old, new = _tree(repo, old_tree), _tree(repo, new_tree)
    found: set[str] = set()
    for delta in old.diff_to_tree(new).deltas:
        found.update(p for p in (delta.old_file.path, delta.new_file.path) if p)
    return sorted(found)


def entry(repo: pygit2.Repository, commit: str, path: str) -> tuple[str, Entry | None]:
    """What `path` is at `commit`: ("blob", (mode, data)), ("tree", None) or ("none", None)."""
    try:
        item = _commit_tree(repo, commit)[path]
    except KeyError:
        return "none", None
    if item.type == ObjectType.TREE:
        return "tree", None
    if item.filemode == FileMode.COMMIT:
        return "none", None
    blob = repo.get(item.id)
    assert isinstance(blob, pygit2.Blob)
    return "blob", (int(item.filemode), blob.data)


def find(repo: pygit2.Repository, commit: str, path: str) -> Found:
    """What `path` is at `commit`. A blob's size comes from its object header: the blob is not
    inflated (`repo.get(oid).size` would inflate it whole)."""
    try:
        item = _commit_tree(repo, commit)[path]
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
    return _files(repo, _commit_tree(repo, commit), path) or []
