"""What a step must not change outside its worktree, when no sandbox keeps it out: the
repository's config, hooks and info files, its refs (Conductor's own aside) and HEAD — and what
it is watched for in the user's checkout. Taken before the step, compared after it
(docs/security.md):

  * config, hooks, info files, refs and HEAD: a change rejects the step and is put back as it was;
  * the checkout's files: a change is reported, never reverted or removed. Without a sandbox
    nobody can tell the user's own edits (made while an IDE agent works) from an agent's, and
    the user's files are theirs.

The checkout is read through `git status`, so a change to an ignored file is not seen.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError
from conductor.gitcli import git, git_text

QUIET = {"GIT_OPTIONAL_LOCKS": "0"}  # git status must not rewrite the index while it looks
OWN_REFS = ("refs/conductor/", "refs/heads/conductor/")
WATCHED_FILES = ("config", "config.worktree", "HEAD")
WATCHED_DIRS = ("hooks", "info")


@dataclass
class Fingerprint:
    """The state a step must leave as it found it."""

    checkout: dict[str, list[object]] = field(default_factory=dict)  # path -> [status, mode, size, mtime]
    files: dict[str, bytes | None] = field(default_factory=dict)  # git-dir path -> content
    refs: dict[str, str] = field(default_factory=dict)  # ref -> object id
    modes: dict[str, int] = field(default_factory=dict)  # git-dir path -> permission bits

    def digest(self) -> str:
        blob = json.dumps(self.to_json(), sort_keys=True).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "checkout": self.checkout,
            "files": {
                k: None if v is None else base64.b64encode(v).decode() for k, v in sorted(self.files.items())
            },
            "refs": self.refs,
            "modes": self.modes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        files = {k: None if v is None else base64.b64decode(v) for k, v in data.get("files", {}).items()}
        return cls(
            dict(data.get("checkout", {})), files, dict(data.get("refs", {})), dict(data.get("modes", {}))
        )


def take(repo_root: Path, git_dir: Path, *, checkout: bool = True) -> Fingerprint:
    """The state now; without `checkout`, only what is read without `git status` (which could
    run filters a step configured)."""
    found = Fingerprint()
    if checkout:
        found.checkout = checkout_of(repo_root)
    for name in _watched(git_dir):
        try:
            found.files[name] = (git_dir / name).read_bytes()
            found.modes[name] = (git_dir / name).stat().st_mode & 0o7777
        except OSError:
            found.files[name] = None
    found.refs = _refs(git_dir)
    return found


def changes(before: Fingerprint, after: Fingerprint) -> list[str]:
    """What differs, as paths a user recognizes: `README.md`, `.git/hooks/post-checkout`,
    `refs/heads/main`."""
    out = _differ(before.checkout, after.checkout)
    out += [
        f".git/{name}"
        for name in sorted(set(_differ(before.files, after.files)) | set(_differ(before.modes, after.modes)))
    ]
    out += _differ(before.refs, after.refs)
    return out


def _files_differ(before: Fingerprint, after: Fingerprint) -> list[str]:
    return sorted({*_differ(before.files, after.files), *_differ(before.modes, after.modes)})


def _differ(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    return [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


@dataclass
class Undone:
    """What changed outside the worktree while a step ran, and what of it was put back."""

    changed: list[str] = field(default_factory=list)  # the repository's files, refs, HEAD: put back
    restored: list[str] = field(default_factory=list)
    checkout: list[str] = field(default_factory=list)  # the checkout's files: reported, left alone
    now: Fingerprint | None = None  # the state found, when nothing of the repository's had changed


def undo(before: Fingerprint, *, repo_root: Path, git_dir: Path) -> Undone:
    """Compare with `before` and put back what the module docstring says. The repository's
    files first, read and written without running git (a planted hook or setting never runs);
    then the checkout is read, with `git status` against the HEAD just put back."""
    now = take(repo_root, git_dir, checkout=False)
    found = Undone(
        changed=changes(Fingerprint(files=before.files, refs=before.refs, modes=before.modes), now)
    )
    found.restored = restore_git(before, now, git_dir)
    now.checkout = checkout_of(repo_root)
    found.checkout = _differ(before.checkout, now.checkout)
    if not found.changed:
        found.now = now
    return found


def restore_git(before: Fingerprint, after: Fingerprint, git_dir: Path) -> list[str]:
    """Put the repository's watched files, refs and HEAD back; returns what was put back. Files
    are written without git, so nothing the step planted runs while they are."""
    restored = []
    for name in _files_differ(before, after):
        old = before.files.get(name)
        target = git_dir / name
        if old is None:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.conductor-restore")
            temporary.write_bytes(old)
            os.chmod(temporary, before.modes.get(name, 0o644))
            temporary.replace(target)
        restored.append(f".git/{name}")
    updates = []
    for ref in _differ(before.refs, after.refs):
        oid = before.refs.get(ref)
        updates.append(f"update {ref} {oid}\n" if oid else f"delete {ref}\n")
        restored.append(ref)
    if updates:
        git(["update-ref", "--stdin"], cwd=git_dir, stdin="".join(updates).encode())
    return restored


def _watched(git_dir: Path) -> list[str]:
    names = list(WATCHED_FILES)
    for directory in WATCHED_DIRS:
        base = git_dir / directory
        if base.is_dir():
            names += sorted(
                path.relative_to(git_dir).as_posix() for path in base.rglob("*") if not path.is_dir()
            )
    return names


def _refs(git_dir: Path) -> dict[str, str]:
    out = git_text(["for-each-ref", "--format=%(objectname) %(refname)"], cwd=git_dir)
    refs = {}
    for line in out.splitlines():
        oid, _, name = line.partition(" ")
        if not name.startswith(OWN_REFS):
            refs[name] = oid
    return refs


def checkout_of(repo_root: Path) -> dict[str, list[object]]:
    """Every path `git status` reports (changed, staged, new, deleted), with its status, mode,
    size and time. Read without refreshing the index (which would change it)."""
    try:
        out = git(
            ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"],
            cwd=repo_root,
            env=QUIET,
        )
    except ConductorError:
        return {}
    found: dict[str, list[object]] = {}
    for item in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(item) <= 3:
            continue
        path = item[3:]
        try:
            st = os.lstat(repo_root / path)
            found[path] = [item[:2], st.st_mode, st.st_size, st.st_mtime_ns]
        except OSError:
            found[path] = [item[:2], 0, 0, 0]
    return found


def save(fingerprint: Fingerprint, path: Path) -> None:
    """Keep a fingerprint on disk, beside the repository (never in the ledger: hooks and config
    may hold credentials), so a resumed run can still compare and restore."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(fingerprint.to_json()), encoding="utf-8")
    temporary.replace(path)


def load(path: Path) -> Fingerprint | None:
    try:
        return Fingerprint.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError):
        return None
