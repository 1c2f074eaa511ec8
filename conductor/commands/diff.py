"""`conductor diff PLAN/A [PLAN/B]`: what one fork changed compared with another, or with its
plan's base (`git diff` of the two branches; `--stat`; `--json` lists files and lines)."""

from __future__ import annotations

import sys

from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.runner.views.forkdiff import ForkDiff, diff


def run(left: str, right: str | None, *, stat: bool, color: bool | None = None) -> ForkDiff:
    root = find_root()
    colored = sys.stdout.isatty() if color is None else color  # as git: colour for a terminal
    return diff(Ledger(root), root, left, right, stat=stat, color=colored)
