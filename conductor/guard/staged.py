"""What a commit is about to change, and which policy applies to it, read through the git CLI.

Two git processes in all: `git diff --cached` for the staged changes (renames detected, so
both sides are known) and one `git cat-file --batch` for the committed and staged policy.
Respects GIT_INDEX_FILE, so `git commit -a` and `git commit PATH` are checked correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

from conductor.gitcli import git
from conductor.project import POLICY_FILE

_KINDS = {"A": "added", "M": "modified", "D": "deleted", "T": "type changed", "U": "unmerged"}


@dataclass(frozen=True)
class Change:
    """One staged change. `old_path` is set for renames and copies."""

    kind: str  # added, modified, deleted, renamed, copied, type changed, unmerged
    path: str
    old_path: str | None = None

    def paths(self) -> list[str]:
        """The paths this change touches: both sides of a rename, the new side of a copy."""
        if self.kind == "renamed" and self.old_path is not None:
            return [self.old_path, self.path]
        return [self.path]


@dataclass(frozen=True)
class PolicyBlob:
    """A version of the policy file: where it is from and its text."""

    label: str
    oid: str
    text: bytes


def staged_changes() -> list[Change]:
    """The changes in the index relative to HEAD (or to nothing, before the first commit)."""
    out = git(["diff", "--cached", "--name-status", "-z", "-M", "--no-ext-diff", "--no-color"])
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    changes: list[Change] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        code = status[0]
        if code in "RC":
            old, new = fields[i + 1], fields[i + 2]
            changes.append(Change("renamed" if code == "R" else "copied", new, old))
            i += 3
        else:
            changes.append(Change(_KINDS.get(code, "changed"), fields[i + 1]))
            i += 2
    return changes


def policy_versions() -> list[PolicyBlob]:
    """The committed and the staged policy file (each when present; one if they are equal)."""
    specs = [f"HEAD:{POLICY_FILE}", f":{POLICY_FILE}"]
    out = git(["cat-file", "--batch"], stdin="".join(f"{s}\n" for s in specs).encode())
    found: list[tuple[str, str, bytes]] = []
    pos = 0
    for spec in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("utf-8", "replace").split()
        pos = end + 1
        if len(header) == 3 and header[1] == "blob":
            size = int(header[2])
            found.append((header[0], spec, out[pos : pos + size]))
            pos += size + 1
    committed = next((f for f in found if f[1].startswith("HEAD:")), None)
    staged = next((f for f in found if not f[1].startswith("HEAD:")), None)
    if committed and staged and committed[0] == staged[0]:
        return [PolicyBlob(POLICY_FILE, staged[0], staged[2])]
    blobs = []
    if committed:
        blobs.append(PolicyBlob(f"HEAD:{POLICY_FILE}", committed[0], committed[2]))
    if staged:
        blobs.append(PolicyBlob(POLICY_FILE, staged[0], staged[2]))
    return blobs
