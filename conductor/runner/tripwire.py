"""The tripwire: for steps no sandbox keeps away from the user's repository — an agent outside
Conductor (the handoff executor), or commands run without bubblewrap — what the step must not
change is fingerprinted when its task is handed out and checked when its attempt ends. A
change rejects the attempt, naming the paths; hooks, config, info files, refs and HEAD are
put back as they were (docs/security.md).

The fingerprint is kept in the git directory (it holds hook and config contents, which may
carry credentials, so never in the ledger); its digest is recorded with task.created, so a
fingerprint the step rewrote is noticed too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conductor.sandbox import fingerprint

if TYPE_CHECKING:
    from pathlib import Path

    from conductor.runner.fork import Fork


@dataclass
class Tripped:
    """What a step changed outside its worktree, and what of it was put back."""

    changed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    tampered: bool = False  # the stored fingerprint itself was changed


def needed(fork: Fork, step: str) -> bool:
    """Agents outside Conductor, and commands without a sandbox, get a tripwire."""
    return fork.executor.name == "handoff" or not fork.confinement(step).isolated


def _path(fork: Fork, step: str, attempt: int) -> Path:
    return fork.ledger.git_dir / "conductor" / "tripwires" / fork.plan.id / fork.id / f"{step}.{attempt}.json"


def arm(fork: Fork, step: str, attempt: int) -> str:
    """Fingerprint before the attempt (kept if one exists already: a resumed run must not take
    the step's own changes as the starting point). Returns the digest to record."""
    path = _path(fork, step, attempt)
    found = fingerprint.load(path)
    if found is None:
        found = fingerprint.take(fork.worktree.repo_root, fork.ledger.git_dir)
        fingerprint.save(found, path)
    return found.digest()


def check(fork: Fork, step: str, attempt: int, *, recorded: str) -> Tripped:
    """Compare with the fingerprint of the attempt's start, put back what can be, and disarm."""
    path = _path(fork, step, attempt)
    before = fingerprint.load(path)
    if before is None:  # never armed, or the step removed it
        return Tripped(tampered=bool(recorded))
    now = fingerprint.take(fork.worktree.repo_root, fork.ledger.git_dir)
    tripped = Tripped(changed=fingerprint.changes(before, now))
    tripped.tampered = bool(recorded) and before.digest() != recorded
    if tripped.changed:
        tripped.restored = fingerprint.restore(before, now, fork.ledger.git_dir)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return tripped
