"""`conductor hooks install|uninstall`: Conductor's git hooks in the repository's hooks dir."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conductor.report import Report
from conductor.runner.install import hooks
from conductor.runner.install.hooks import BACKUP_SUFFIX, HookChange

if TYPE_CHECKING:
    from conductor.commands.output import contract as c

ALL = ["pre-commit", "commit-msg", "pre-push"]
GUARD = ["pre-commit", "commit-msg"]  # the guard, and the recorder of CONDUCTOR_OVERRIDE's reason
DESCRIBE = {
    "installed": "installed",
    "updated": "updated (it was already Conductor's)",
    "replaced": f"installed; the previous hook was kept as <hook>{BACKUP_SUFFIX}",
    "skipped": "not installed: a hook not written by Conductor is there (--force replaces it, keeping it as"
    f" <hook>{BACKUP_SUFFIX}); until Conductor's runs, CONDUCTOR_OVERRIDE is refused",
    "removed": "removed",
    "restored": "removed; the hook it replaced was restored",
    "absent": "not installed, nothing to do",
    "foreign": "left alone: it was not written by Conductor",
}


@dataclass
class HookChanges(Report):
    changes: list[HookChange] = field(default_factory=list)

    def to_json(self) -> list[c.Hook]:
        return [{"hook": h.hook, "path": str(h.path), "action": h.action} for h in self.changes]

    def render(self) -> str:
        return "\n".join(f"{h.hook}: {DESCRIBE[h.action]} ({h.path})" for h in self.changes)


def run(action: str, *, pre_push: bool = False, force: bool = False) -> HookChanges:
    """`install` the pre-commit guard with its commit-msg hook (and the pre-push check), or
    `uninstall` them all. Someone else's commit-msg hook (a Change-Id) is left alone unless
    `force`: the guard works without ours, only CONDUCTOR_OVERRIDE is then refused."""
    if action == "install":
        return HookChanges(hooks.install(ALL if pre_push else GUARD, force=force, optional=("commit-msg",)))
    return HookChanges(hooks.uninstall(ALL))
