"""The difference between two points of plans (`conductor diff`): two fork branches, or a fork
and its plan's base — through the git CLI, so it reads (and applies) as `git diff` does. The
files are an agent's: git's text is taken without colour and coloured here, after
terminal.clean, so an escape sequence in a file is shown, never run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conductor.gitcli import git
from conductor.ledger.store import Ledger
from conductor.report import Report
from conductor.runner.views import point
from conductor.runner.views.point import Point
from conductor.terminal import Screen

STAT_BAR = re.compile(r"^(?P<file>.*\| +\d+ )(?P<added>\+*)(?P<removed>-*)$")  # ` a.py | 3 ++-`


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int | None  # None: a binary file
    removed: int | None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "added": self.added, "removed": self.removed, "binary": self.added is None}


@dataclass
class ForkDiff(Report):
    """From `old` to `new`: the files with their added and removed lines, and git's text (the
    patch, or with `--stat` its summary)."""

    old: Point
    new: Point
    files: list[FileChange]
    text: str
    color: bool = False  # colour the text as git would (a terminal, or --color)
    stat: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.old.to_json(),
            "to": self.new.to_json(),
            "files": [f.to_json() for f in self.files],
            "added": sum(f.added or 0 for f in self.files),
            "removed": sum(f.removed or 0 for f in self.files),
        }

    def render(self) -> str:
        if not self.files:
            return f"no difference between {self.old.label} and {self.new.label}"
        return self.text.removesuffix("\n")

    def show(self, screen: Screen, *, as_json: bool) -> None:
        if as_json or not self.color or not self.files:
            super().show(screen, as_json=as_json)
            return
        paint = _paint_stat if self.stat else _paint_patch
        paint(screen, self.render().split("\n"))
        screen.flush()


def _paint_patch(screen: Screen, lines: list[str]) -> None:
    """Git's colours: headers bold, hunk heads cyan, added lines green, removed ones red."""
    in_hunk = False
    for line in lines:
        if line.startswith("diff --git "):
            in_hunk = False
        if line.startswith("@@"):
            in_hunk = True
            head, end, rest = line.partition(" @@")
            screen.paint(head + end, "cyan")
            screen.write(rest + "\n")
        elif not in_hunk:
            screen.paint(line, "bold")
            screen.write("\n")
        elif line.startswith(("+", "-")):
            screen.paint(line, "green" if line.startswith("+") else "red")
            screen.write("\n")
        else:
            screen.write(line + "\n")


def _paint_stat(screen: Screen, lines: list[str]) -> None:
    """`--stat`: each file's bar, its + green and its - red."""
    for line in lines:
        bar = STAT_BAR.match(line)
        if bar is None:
            screen.write(line + "\n")
            continue
        screen.write(bar["file"])
        if bar["added"]:
            screen.paint(bar["added"], "green")
        if bar["removed"]:
            screen.paint(bar["removed"], "red")
        screen.write("\n")


def points(ledger: Ledger, left: str, right: str | None) -> tuple[Point, Point]:
    """`A B`: from A to B. `A` alone: from its plan's base to A."""
    if right is not None:
        return point.resolve(ledger, left), point.resolve(ledger, right)
    new = point.resolve(ledger, left)
    return point.resolve(ledger, f"{new.plan}/{new.fork}@base"), new


def diff(ledger: Ledger, root: Path, left: str, right: str | None, *, stat: bool, color: bool) -> ForkDiff:
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
    return ForkDiff(old, new, files, text, color=color, stat=stat)
