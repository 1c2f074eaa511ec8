"""The tripwire: for steps no sandbox keeps away from the user's repository — an agent outside
Conductor (an executor that declares itself not `sandboxed`: the handoff one), or commands run
without bubblewrap — the repository and the checkout are fingerprinted when the task is handed
out and checked when its attempt ends. A change to hooks, config, info files, refs or HEAD
rejects the attempt and is put back as it was; a change to the checkout's files is reported and
left alone: it may well be the user's own work (docs/security.md).

The fingerprint is kept in the git directory (it holds hook and config contents, which may
carry credentials, so never in the ledger); its digest is recorded with task.created, so a
fingerprint the step rewrote is noticed too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from conductor.sandbox import fingerprint
from conductor.sandbox.fingerprint import Fingerprint

if TYPE_CHECKING:
    from conductor.runner.fork.context import Fork


@dataclass
class Tripped:
    """What changed outside the worktree while a step ran, and what of it was put back."""

    changed: list[str] = field(default_factory=list)  # the repository's own files, refs, HEAD
    restored: list[str] = field(default_factory=list)
    checkout: list[str] = field(default_factory=list)  # the checkout's files: reported, left alone
    tampered: bool = False  # the stored fingerprint itself was changed
    now: Fingerprint | None = field(default=None, repr=False)  # the state found, if unchanged

    def merge(self, other: Tripped) -> Tripped:
        """Both checks of an attempt (after the executor, after the verify commands) in one."""
        return Tripped(
            changed=sorted({*self.changed, *other.changed}),
            restored=sorted({*self.restored, *other.restored}),
            checkout=sorted({*self.checkout, *other.checkout}),
            tampered=self.tampered or other.tampered,
        )


def needed(fork: Fork, step: str) -> bool:
    """Agents Conductor does not confine (an executor not `sandboxed`), and commands without a
    sandbox, get a tripwire."""
    return not fork.executor.capabilities.sandboxed or not fork.confinement(step).isolated


def _path(fork: Fork, step: str, attempt: int, phase: str) -> Path:
    name = f"{step}.{attempt}{'.' + phase if phase else ''}.json"
    return fork.ledger.git_dir / "conductor" / "tripwires" / fork.plan.id / fork.id / name


def arm(fork: Fork, step: str, attempt: int, *, phase: str = "", start: Fingerprint | None = None) -> str:
    """Fingerprint before the attempt (kept if one exists already: a resumed run must not take
    the step's own changes as the starting point), or take `start`, a state just checked.
    Returns the digest to record."""
    path = _path(fork, step, attempt, phase)
    found = fingerprint.load(path)
    if found is None:
        found = start or fingerprint.take(fork.worktree.repo_root, fork.ledger.git_dir)
        fingerprint.save(found, path)
    return found.digest()


def check(fork: Fork, step: str, attempt: int, *, recorded: str, phase: str = "") -> Tripped:
    """Compare with the fingerprint of the attempt's start, put back what can be, and disarm.
    The repository's files are compared and put back before any git command runs."""
    path = _path(fork, step, attempt, phase)
    before = fingerprint.load(path)
    if before is None:  # never armed, or the step removed it
        return Tripped(tampered=bool(recorded))
    undone = fingerprint.undo(before, repo_root=fork.worktree.repo_root, git_dir=fork.ledger.git_dir)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return Tripped(
        changed=undone.changed,
        restored=undone.restored,
        checkout=undone.checkout,
        tampered=bool(recorded) and before.digest() != recorded,
        now=undone.now,
    )
