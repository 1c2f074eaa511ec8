"""Cleaning up (`conductor clean [PLAN]`): remove the worktrees and mailboxes of finished plans,
and the worktrees `conductor checkout` made of their points.

Only working files go, and local copies of a plan's work-queue refs (left by older versions:
the coordinator removes the remote's once each result is in); the plan's refs (its history,
records and code branches) stay, so everything remains visible with `conductor events`,
`explain` and git. A checkout with changes of its own is kept (and named): those changes are
the user's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.mailbox import plan_folder
from conductor.project import HANDOFF_DIR, find_root
from conductor.runner.logs import planlog
from conductor.runner.logs.planlock import plan_lock
from conductor.runner.logs.plans import FINISHED
from conductor.runner.place.worktree import remove_fork_worktree, worktrees_setting

CHECKOUT_MARK = "conductor-checkout"
"""In the admin directory git keeps for a worktree (`.git/worktrees/<name>/`): which plan's point
`conductor checkout` put there. `git worktree remove` takes it along."""


def remember_checkout(path: Path, plan: str, point: str) -> None:
    """Mark the worktree `conductor checkout` just made at `path`, so `clean` finds it."""
    admin = Path(git_text(["rev-parse", "--absolute-git-dir"], cwd=path))
    (admin / CHECKOUT_MARK).write_text(json.dumps({"plan": plan, "point": point}) + "\n", encoding="utf-8")


def checkouts(git_dir: Path, plan: str) -> list[Path]:
    """The worktrees `conductor checkout` made of `plan`'s points (existing or not)."""
    found = []
    for mark in sorted((git_dir / "worktrees").glob(f"*/{CHECKOUT_MARK}")):
        try:
            if json.loads(mark.read_text(encoding="utf-8")).get("plan") != plan:
                continue
            found.append(Path((mark.parent / "gitdir").read_text(encoding="utf-8").strip()).parent)
        except (OSError, ValueError, AttributeError):
            continue
    return found


@dataclass
class Cleaned:
    """What `clean` removed of one plan, and the checkouts it kept (they hold changes of yours)."""

    plan: str
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # checkouts with changes of the user's


def clean(plan: str | None) -> list[Cleaned]:
    root = find_root()
    ledger = Ledger(root)
    targets = [plan] if plan else ledger.plans()
    done = []
    for plan_id in targets:
        tip = ledger.tip(refs.plan_log(plan_id))
        if tip is None:
            raise ConductorError(f"no plan '{plan_id}'", hint="`conductor status` lists the plans")
        state = planlog.state_of(tip)
        if state not in FINISHED:
            if plan:
                raise ConductorError(
                    f"plan {plan_id} is {state}, not finished: its worktree and mailbox are in use",
                    hint=f"finish it with `conductor resume {plan_id}` first",
                )
            continue
        cleaned = Cleaned(plan_id)
        with plan_lock(ledger.git_dir, plan_id):
            configured = worktrees_setting(ledger, plan_id)
            for fork in ledger.forks(plan_id):
                gone = remove_fork_worktree(
                    repo_root=root, git_dir=ledger.git_dir, plan=plan_id, fork=fork, configured=configured
                )
                cleaned.removed += [str(path) for path in gone]
            queue = git_text(
                ["for-each-ref", "--format=%(refname)", f"{refs.WORK_PREFIX}{plan_id}/"], cwd=root
            ).split()
            if queue:
                git(
                    ["update-ref", "--stdin"],
                    cwd=root,
                    stdin="".join(f"delete {r}\n" for r in queue).encode(),
                )
                cleaned.removed.append(f"{len(queue)} local work-queue refs ({refs.WORK_PREFIX}{plan_id}/)")
            mailbox = plan_folder(root / HANDOFF_DIR, plan_id)
            if mailbox.exists():
                shutil.rmtree(mailbox)
                cleaned.removed.append(str(mailbox))
        _remove_checkouts(ledger, root, plan_id, cleaned)
        if cleaned.removed or cleaned.kept:
            done.append(cleaned)
    return done


def _remove_checkouts(ledger: Ledger, root: Path, plan: str, cleaned: Cleaned) -> None:
    stale = False
    for path in checkouts(ledger.git_dir, plan):
        if not path.exists():
            stale = True  # removed by hand: git forgets it below
            continue
        if git_text(["status", "--porcelain", "--untracked-files=normal"], cwd=path):
            cleaned.kept.append(str(path))
            continue
        git(["worktree", "remove", str(path)], cwd=root)
        cleaned.removed.append(str(path))
    if stale:
        git(["worktree", "prune"], cwd=root)
