"""`conductor hooks install|uninstall`: Conductor's git hooks in the repository's hooks dir."""

from __future__ import annotations

from conductor.runner.install import hooks
from conductor.runner.install.hooks import HookChanges

ALL = ["pre-commit", "commit-msg", "pre-push"]
GUARD = ["pre-commit", "commit-msg"]  # the guard, and the recorder of CONDUCTOR_OVERRIDE's reason


def run(action: str, *, pre_push: bool = False, force: bool = False) -> HookChanges:
    """`install` the pre-commit guard with its commit-msg hook (and the pre-push check), or
    `uninstall` them all. Someone else's commit-msg hook (a Change-Id) is left alone unless
    `force`: the guard works without ours, only CONDUCTOR_OVERRIDE is then refused."""
    if action == "install":
        return hooks.install(ALL if pre_push else GUARD, force=force, optional=("commit-msg",))
    return hooks.uninstall(ALL)
