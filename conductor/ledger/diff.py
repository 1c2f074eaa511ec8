"""The difference between two trees at a few paths, for any Repo (conductor.ledger.repo).

Classifying the files (added, deleted, modified, type changed) and pairing renames as git does
is the same wherever the trees are; reading them and diffing two blobs is the Repo's, through
`Sides`. Nothing here is redacted: it is the user's code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from conductor.gitdiff import Change
from conductor.ledger.changes import LINK
from conductor.ledger.repo import TreeDiff

Item = tuple[str, int]
"""A file in a tree: (object id, mode)."""

RENAME_THRESHOLD = 0.5  # git's default (-M50%)


class Patch(Protocol):
    """The difference between two blobs (either may be missing), as git shows it."""

    @property
    def binary(self) -> bool: ...

    @property
    def line_stats(self) -> tuple[int, int, int]:
        """(context, added, deleted) lines."""
        ...

    @property
    def size(self) -> int:
        """The larger of the two blobs' sizes."""
        ...

    @property
    def data(self) -> bytes:
        """The patch text, headers included."""
        ...


class Sides(Protocol):
    """The two trees being compared."""

    def expand(self, path: str) -> list[str]:
        """The files at or under `path` on either side."""
        ...

    def old(self, path: str) -> Item | None: ...

    def new(self, path: str) -> Item | None: ...

    def patch(self, old: Item | None, new: Item | None, old_path: str, new_path: str) -> Patch: ...


def mode_text(value: int) -> str:
    return f"{value:06o}" if value else "000000"


def similarity(patch: Patch) -> float:
    """Share of lines kept, as git's rename detection estimates it (0..1)."""
    if patch.binary:
        return 0.0
    context, added, deleted = patch.line_stats
    total = max(context + deleted, context + added)
    return context / total if total else 1.0


def diff_paths(sides: Sides, paths: list[str]) -> TreeDiff:
    """The difference between two trees at `paths` only (directories expand to their files):
    the cost follows the number of paths, not the size of the trees."""
    files = sorted({f for p in paths for f in sides.expand(p)})
    added: dict[str, Item] = {}
    deleted: dict[str, Item] = {}
    modified: list[tuple[str, Item, Item]] = []
    for path in files:
        old, new = sides.old(path), sides.new(path)
        if old == new:
            continue
        if old is None and new is not None:
            added[path] = new
        elif new is None and old is not None:
            deleted[path] = old
        elif old is not None and new is not None:
            modified.append((path, old, new))
    result = TreeDiff()
    patches: list[bytes] = []
    add = _adder(result, patches)
    # renames: exact content first, then similar content (both sides must be plain files)
    for old_path, old in list(deleted.items()):
        match = next((p for p, new in added.items() if new[0] == old[0]), None)
        if match is None:
            best, score = None, RENAME_THRESHOLD
            for new_path, new in added.items():
                found = similarity(sides.patch(old, new, old_path, new_path))
                if found >= score:
                    best, score = new_path, found
            match = best
        if match is not None:
            new = added.pop(match)
            del deleted[old_path]
            add("renamed", old_path, match, old, new, sides.patch(old, new, old_path, match))
    for path, old, new in modified:
        kind = "type changed" if (old[1] == LINK) != (new[1] == LINK) else "modified"
        add(kind, path, path, old, new, sides.patch(old, new, path, path))
    for path, new in added.items():
        add("added", path, path, None, new, sides.patch(None, new, path, path))
    for path, old in deleted.items():
        add("deleted", path, path, old, None, sides.patch(old, None, path, path))
    result.changes.sort(key=lambda c: c.path)
    result.patch = b"".join(patches)
    return result


def _adder(
    result: TreeDiff, patches: list[bytes]
) -> Callable[[str, str, str, Item | None, Item | None, Patch], None]:
    def add(
        kind: str, old_path: str, new_path: str, old: Item | None, new: Item | None, patch: Patch
    ) -> None:
        change = Change(
            kind,
            new_path,
            old_path if kind == "renamed" else None,
            mode_text(old[1] if old else 0),
            mode_text(new[1] if new else 0),
            new[0] if new else "",
        )
        result.changes.append(change)
        if patch.binary:
            result.counts[new_path] = None
            result.sizes[new_path] = patch.size
        else:
            _, plus, minus = patch.line_stats
            result.counts[new_path] = (plus, minus)
        data = patch.data
        if kind == "renamed" and not data:  # identical content: git shows only the rename
            header = f"diff --git a/{old_path} b/{new_path}\n"
            data = f"{header}rename from {old_path}\nrename to {new_path}\n".encode()
        patches.append(data)

    return add
