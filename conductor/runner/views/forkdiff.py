"""The difference between two points of plans (`conductor diff`): two fork branches, or a fork
and its plan's base — through the git CLI, so it reads (and applies) as `git diff` does. The
files are an agent's: git's text is taken without colour (the command colours it, after
terminal.clean, so an escape sequence in a file is shown, never run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conductor.gitcli import git
from conductor.ledger.store import Ledger
from conductor.runner.views import point
from conductor.runner.views.point import Point


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int | None  # None: a binary file
    removed: int | None


@dataclass
class Difference:
    """From `old` to `new`: the files with their added and removed lines, and git's text (the
    patch, or with `--stat` its summary), without colour."""

    old: Point
    new: Point
    files: list[FileChange]
    text: str


def points(ledger: Ledger, left: str, right: str | None) -> tuple[Point, Point]:
    """`A B`: from A to B. `A` alone: from its plan's base to A."""
    if right is not None:
        return point.resolve(ledger, left), point.resolve(ledger, right)
    new = point.resolve(ledger, left)
    return point.resolve(ledger, f"{new.plan}/{new.fork}@base"), new


def diff(ledger: Ledger, root: Path, left: str, right: str | None, *, stat: bool) -> Difference:
    old, new = points(ledger, left, right)
    raw = git(["diff", "--no-ext-diff", "--no-renames", "--numstat", "-z", old.commit, new.commit], cwd=root)
    files = []
    for record in raw.decode("utf-8", "surrogateescape").split("\0"):
        if not record:
            continue
        added, removed, path = record.split("\t", 2)
        files.append(
            FileChange(path, None if added == "-" else int(added), None if removed == "-" else int(removed))
        )
    args = ["diff", "--no-ext-diff", "--color=never"]
    if stat:
        args.append("--stat")
    text = git([*args, old.commit, new.commit], cwd=root).decode("utf-8", "replace") if files else ""
    return Difference(old, new, files, text)
