"""What a step must not change outside its worktree, when no sandbox keeps it out: the user's
checkout, the repository's config, hooks and info files, its refs (Conductor's own aside) and
HEAD. Taken before the step, compared after it; what changed rejects the step, and what can be
put back (everything but the checkout's files) is put back (docs/security.md).

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

OWN_REFS = ("refs/conductor/", "refs/heads/conductor/")
WATCHED_FILES = ("config", "config.worktree", "HEAD")
WATCHED_DIRS = ("hooks", "info")


@dataclass
class Fingerprint:
    """The state a step must leave as it found it."""

    checkout: dict[str, list[int]] = field(default_factory=dict)  # path -> [mode, size, mtime_ns]
    files: dict[str, bytes | None] = field(default_factory=dict)  # git-dir path -> content
    refs: dict[str, str] = field(default_factory=dict)  # ref -> object id

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
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        files = {k: None if v is None else base64.b64decode(v) for k, v in data.get("files", {}).items()}
        return cls(dict(data.get("checkout", {})), files, dict(data.get("refs", {})))


def take(repo_root: Path, git_dir: Path, *, checkout: bool = True) -> Fingerprint:
    found = Fingerprint()
    if checkout:
        found.checkout = _checkout(repo_root)
    for name in _watched(git_dir):
        try:
            found.files[name] = (git_dir / name).read_bytes()
        except OSError:
            found.files[name] = None
    found.refs = _refs(git_dir)
    return found


def changes(before: Fingerprint, after: Fingerprint) -> list[str]:
    """What differs, as paths a user recognizes: `README.md`, `.git/hooks/post-checkout`,
    `refs/heads/main`."""
    out = _differ(before.checkout, after.checkout)
    out += [f".git/{name}" for name in _differ(before.files, after.files)]
    out += _differ(before.refs, after.refs)
    return out


def _differ(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    return [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def restore(before: Fingerprint, after: Fingerprint, git_dir: Path) -> list[str]:
    """Put the repository's files and refs back as `before` had them; returns what was put back.
    (The checkout's files are not: Conductor keeps no copy of them.)"""
    restored = []
    for name in _differ(before.files, after.files):
        old = before.files.get(name)
        target = git_dir / name
        if old is None:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.conductor-restore")
            temporary.write_bytes(old)
            if target.exists():
                os.chmod(temporary, target.stat().st_mode & 0o7777)
            elif name.startswith("hooks/"):
                os.chmod(temporary, 0o755)
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


def _checkout(repo_root: Path) -> dict[str, list[int]]:
    """Every path `git status` reports (changed, new, deleted), with its mode, size and time."""
    try:
        out = git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], cwd=repo_root)
    except ConductorError:
        return {}
    found: dict[str, list[int]] = {}
    for item in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(item) <= 3:
            continue
        path = item[3:]
        try:
            st = os.lstat(repo_root / path)
            found[path] = [st.st_mode, st.st_size, st.st_mtime_ns]
        except OSError:
            found[path] = [0, 0, 0]
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
