"""Cleaning up (`conductor clean [PLAN]`): remove the worktrees and mailboxes of finished plans.

Only working files go, and the local copies of a plan's work-queue refs (the remote keeps
them); the plan's refs (its history, records and code branches) stay, so everything remains
visible with `conductor events`, `explain` and git.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Any

from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.mailbox import plan_folder
from conductor.project import HANDOFF_DIR, find_root
from conductor.report import Report, plural
from conductor.runner.plans import FINISHED
from conductor.runner.scheduler import plan_lock
from conductor.runner.worktree import Worktree


@dataclass
class Cleaned:
    plan: str
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "removed": self.removed}


def clean(plan: str | None) -> CleanReport:
    root = find_root()
    ledger = Ledger(root)
    targets = [plan] if plan else ledger.plans()
    done = []
    for plan_id in targets:
        tip = ledger.tip(refs.plan_log(plan_id))
        if tip is None:
            raise ConductorError(f"no plan '{plan_id}'", hint="`conductor status` lists the plans")
        state = tip.event.state or "running"
        if state not in FINISHED:
            if plan:
                raise ConductorError(
                    f"plan {plan_id} is {state}, not finished: its worktree and mailbox are in use",
                    hint=f"finish it with `conductor resume {plan_id}` first",
                )
            continue
        cleaned = Cleaned(plan_id)
        with plan_lock(ledger.git_dir, plan_id):
            for fork in ledger.forks(plan_id):
                tree = Worktree(Worktree.location(ledger.git_dir, plan_id, fork), repo_root=root)
                if tree.path.exists():
                    tree.remove()
                    cleaned.removed.append(str(tree.path))
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
        if cleaned.removed:
            done.append(cleaned)
    return CleanReport(done)


@dataclass
class CleanReport(Report):
    cleaned: list[Cleaned] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.cleaned]

    def render(self) -> str:
        if not self.cleaned:
            return "Nothing to clean."
        return "\n".join(
            f"{c.plan}: removed {plural(len(c.removed), 'worktree/mailbox path')}" for c in self.cleaned
        )
