"""Conductor's git hooks (`conductor hooks install|uninstall`), in the repository's hooks dir.

The hooks dir is the one git uses (`git rev-parse --git-path hooks`), so core.hooksPath and
worktrees are respected. A hook that Conductor did not write is never overwritten unless
--force is given, and then it is kept beside ours as `<hook>.pre-conductor`.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from conductor import resources
from conductor.errors import HookError
from conductor.gitcli import git_text

MARKER = "# conductor-hook:"
PYTHON_LINE = "CONDUCTOR_PYTHON=python3"
LIB_LINE = "CONDUCTOR_LIB=\n"
BACKUP_SUFFIX = ".pre-conductor"


@dataclass(frozen=True)
class HookChange:
    hook: str
    path: Path
    action: str  # installed, updated, replaced, skipped, removed, restored, absent, foreign


def hooks_dir() -> Path:
    """The directory git runs hooks from in the current repository."""
    path = Path(git_text(["rev-parse", "--path-format=absolute", "--git-path", "hooks"], as_configured=True))
    return path


def script(hook: str, *, python: str = sys.executable) -> str:
    """The hook script as installed: the one in hooks/, pointed at this Python and, for the
    guard's hooks, at the directory this package is imported from (so the hook can start
    Python without site processing; conductor/resources/hooks/pre-commit)."""
    text = resources.text(f"hooks/{hook}")
    if PYTHON_LINE not in text:
        raise HookError(f"the packaged {hook} hook is damaged (no {PYTHON_LINE} line)")
    text = text.replace(PYTHON_LINE, f"CONDUCTOR_PYTHON={shlex.quote(python)}", 1)
    return text.replace(LIB_LINE, f"CONDUCTOR_LIB={shlex.quote(package_parent())}\n", 1)


def package_parent() -> str:
    """The directory that holds the `conductor` package this process runs."""
    import conductor

    return str(Path(conductor.__file__ or ".").resolve().parent.parent)


def is_ours(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:400]
    except OSError:
        return False
    return MARKER in head


def install(hooks: list[str], *, force: bool, optional: tuple[str, ...] = ()) -> list[HookChange]:
    """Install each hook; refuse (before writing any) if a foreign hook is in the way, except
    for an `optional` one, which is then left alone (skipped) unless `force` is given."""
    directory = hooks_dir()
    targets = [(hook, directory / hook) for hook in hooks]
    foreign = [path for _, path in targets if path.exists() and not is_ours(path)]
    blocking = [path for path in foreign if path.name not in optional]
    if blocking and not force:
        names = ", ".join(str(p) for p in blocking)
        raise HookError(
            f"a hook not written by Conductor is already installed: {names}",
            hint="chain it yourself, or run `conductor hooks install --force` (the existing "
            f"hook is kept as <hook>{BACKUP_SUFFIX})",
        )
    directory.mkdir(parents=True, exist_ok=True)
    changes = []
    for hook, path in targets:
        if path in foreign and not force:
            changes.append(HookChange(hook, path, "skipped"))
            continue
        if path.exists() and not is_ours(path):
            path.replace(path.with_name(hook + BACKUP_SUFFIX))
            action = "replaced"
        else:
            action = "updated" if path.exists() else "installed"
        tmp = path.with_name(f".{hook}.conductor-tmp")
        tmp.write_text(script(hook), encoding="utf-8")
        tmp.chmod(0o755)
        tmp.replace(path)
        changes.append(HookChange(hook, path, action))
    return changes


def uninstall(hooks: list[str]) -> list[HookChange]:
    """Remove Conductor's hooks (restoring a hook --force displaced); leave others alone."""
    directory = hooks_dir()
    changes = []
    for hook in hooks:
        path = directory / hook
        backup = path.with_name(hook + BACKUP_SUFFIX)
        if not path.exists():
            changes.append(HookChange(hook, path, "absent"))
        elif not is_ours(path):
            changes.append(HookChange(hook, path, "foreign"))
        else:
            path.unlink()
            if backup.exists():
                backup.replace(path)
                changes.append(HookChange(hook, path, "restored"))
            else:
                changes.append(HookChange(hook, path, "removed"))
    return changes
