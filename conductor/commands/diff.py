"""`conductor diff PLAN/A [PLAN/B]`: what one fork changed compared with another, or with its
plan's base (`git diff` of the two branches; `--stat`; `--json` lists files and lines). Git's
text is coloured here, after terminal.clean: an escape sequence in an agent's file is shown,
never run."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conductor.commands.output.plans import point_json
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.report import Report
from conductor.runner.views.forkdiff import Difference, diff
from conductor.terminal import Screen

if TYPE_CHECKING:
    from conductor.commands.output import contract as c

STAT_BAR = re.compile(r"^(?P<file>.*\| +\d+ )(?P<added>\+*)(?P<removed>-*)$")  # ` a.py | 3 ++-`


@dataclass
class ForkDiff(Report):
    difference: Difference
    color: bool = False  # colour the text as git would (a terminal, or --color)
    stat: bool = False

    def to_json(self) -> c.Diff:
        d = self.difference
        return {
            "from": point_json(d.old),
            "to": point_json(d.new),
            "files": [
                {"path": f.path, "added": f.added, "removed": f.removed, "binary": f.added is None}
                for f in d.files
            ],
            "added": sum(f.added or 0 for f in d.files),
            "removed": sum(f.removed or 0 for f in d.files),
        }

    def render(self) -> str:
        d = self.difference
        if not d.files:
            return f"no difference between {d.old.label} and {d.new.label}"
        return d.text.removesuffix("\n")

    def show(self, screen: Screen, *, as_json: bool) -> None:
        if as_json or not self.color or not self.difference.files:
            super().show(screen, as_json=as_json)
            return
        paint = _paint_stat if self.stat else _paint_patch
        paint(screen, self.render().split("\n"))
        screen.flush()


def run(left: str, right: str | None, *, stat: bool, color: bool | None = None) -> ForkDiff:
    root = find_root()
    colored = sys.stdout.isatty() if color is None else color  # as git: colour for a terminal
    return ForkDiff(diff(Ledger(root), root, left, right, stat=stat), color=colored, stat=stat)


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
