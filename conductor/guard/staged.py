"""What a commit is about to change, and which policy applies to it, read through the git CLI.

Two git processes in all: `git diff --cached` for the staged changes (renames detected, so
both sides are known) and one `git cat-file --batch` for the committed and staged policy.
Respects GIT_INDEX_FILE, so `git commit -a` and `git commit PATH` are checked correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

from conductor.gitcli import git
from conductor.gitdiff import Change, parse_raw
from conductor.project import POLICY_FILE


@dataclass(frozen=True)
class PolicyBlob:
    """A version of the policy file: where it is from and its text."""

    label: str
    oid: str
    text: bytes


def staged_changes() -> list[Change]:
    """The changes in the index relative to HEAD (or to nothing, before the first commit)."""
    return parse_raw(git(["diff", "--cached", "--raw", "-z", "-M", "--no-ext-diff", "--no-color"]))


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
