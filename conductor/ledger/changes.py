"""What a change to a tree is: paths mapped to new content, an entry with its mode, or None.

Shared by every Repo (conductor.ledger.repo): the pygit2 one builds trees with
conductor.ledger.tree, the in-memory one with dicts, from the same Changes.
"""

from __future__ import annotations

from collections.abc import Mapping

BLOB = 0o100644
EXECUTABLE = 0o100755
LINK = 0o120000
TREE = 0o040000
GITLINK = 0o160000

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


def split(changes: Changes) -> tuple[dict[str, bytes | str | Entry | None], dict[str, Changes]]:
    """`changes` as those of the tree's own entries and those of each subtree (by name)."""
    direct: dict[str, bytes | str | Entry | None] = {}
    nested: dict[str, dict[str, bytes | str | Entry | None]] = {}
    for path, content in changes.items():
        head, *rest = check_path(path)
        if rest:
            nested.setdefault(head, {})["/".join(rest)] = content
        else:
            direct[head] = content
    return direct, dict(nested)


def as_entry(content: bytes | str | Entry) -> Entry:
    """A file's content with its mode: text and bytes are regular files."""
    if isinstance(content, tuple):
        return content
    return BLOB, content.encode("utf-8") if isinstance(content, str) else content
