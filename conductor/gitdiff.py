"""Parsing `git diff --raw -z` output into changes, for the guard and for step verification.

Raw output carries both modes (so symlinks, gitlinks and executable bits are visible) and,
with -M, both sides of a rename. No pydantic, no pygit2: the guard uses this on every commit.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "T": "type changed",
    "U": "unmerged",
    "R": "renamed",
    "C": "copied",
}
SYMLINK = "120000"
GITLINK = "160000"
ABSENT = "000000"


@dataclass(frozen=True)
class Change:
    """One changed path. `old_path` is set for renames and copies; modes are git's octal text."""

    kind: str
    path: str
    old_path: str | None = None
    old_mode: str = ABSENT
    new_mode: str = ABSENT
    new_oid: str = ""

    def paths(self) -> list[str]:
        """Every path this change touches: both sides of a rename."""
        if self.kind == "renamed" and self.old_path is not None:
            return [self.old_path, self.path]
        return [self.path]

    def describe(self) -> str:
        if self.old_path is not None:
            return f"{self.kind} {self.old_path} -> {self.path}"
        return f"{self.kind} {self.path}"


def parse_raw(output: bytes) -> list[Change]:
    """Parse `git diff --raw -z [-M]` output."""
    fields = output.decode("utf-8", "surrogateescape").split("\0")
    changes: list[Change] = []
    i = 0
    while i < len(fields) and fields[i]:
        meta = fields[i].lstrip(":").split(" ")
        old_mode, new_mode, _old_oid, new_oid, status = meta[:5]
        code = status[0]
        if code in "RC":
            changes.append(Change(KINDS[code], fields[i + 2], fields[i + 1], old_mode, new_mode, new_oid))
            i += 3
        else:
            changes.append(
                Change(KINDS.get(code, "changed"), fields[i + 1], None, old_mode, new_mode, new_oid)
            )
            i += 2
    return changes
