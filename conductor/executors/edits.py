"""Applying a model's edits to a workspace — and never outside it.

A path that would leave the workspace (absolute, `..`, into `.git`, through a symlink) is
not written; it is still reported as changed, so that verification rejects the attempt with
the reason instead of the escape going unnoticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conductor.llm.answers import FileEdit
from conductor.models.paths import escape_reason


@dataclass
class Applied:
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: bool = False


def _inside(workspace: Path, target: Path) -> bool:
    try:
        target.resolve().relative_to(workspace.resolve())
    except ValueError:
        return False
    return True


def apply_edits(workspace: Path, edits: Sequence[FileEdit]) -> Applied:
    applied = Applied()
    for edit in edits:
        reason = escape_reason(edit.path)
        target = workspace / edit.path
        if reason is None and not _inside(workspace, target):
            reason = "resolves outside the workspace (through a symlink)"
        if reason:
            applied.notes.append(f"Not written: `{edit.path}` {reason}.")
            applied.changed.append(edit.path)
            continue
        if edit.action == "write":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit.content or "", encoding="utf-8")
        elif edit.action == "delete":
            if target.exists() or target.is_symlink():
                target.unlink()
        else:
            current = target.read_text(encoding="utf-8") if target.is_file() else None
            found = current.count(edit.search) if current is not None and edit.search else 0
            if current is None or found != 1:
                where = (
                    "the file does not exist" if current is None else f"the search text occurs {found} times"
                )
                applied.notes.append(f"Not applied: replace in `{edit.path}` ({where}; it must occur once).")
                applied.failed = True
                continue
            assert edit.search is not None
            target.write_text(current.replace(edit.search, edit.replace or "", 1), encoding="utf-8")
        applied.changed.append(edit.path)
    return applied
