"""`conductor hooks install|uninstall`: Conductor's git hooks in the repository's hooks dir."""

from __future__ import annotations

from conductor.runner import hooks
from conductor.runner.hooks import HookChanges

ALL = ["pre-commit", "pre-push"]


def run(action: str, *, pre_push: bool = False, force: bool = False) -> HookChanges:
    """`install` the pre-commit guard (and the pre-push check), or `uninstall` both."""
    if action == "install":
        return hooks.install(ALL if pre_push else ["pre-commit"], force=force)
    return hooks.uninstall(ALL)
