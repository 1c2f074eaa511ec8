"""`conductor clean [PLAN]`: remove worktrees and mailboxes of finished plans (history stays)."""

from __future__ import annotations

from conductor.runner.cleanup import CleanReport, clean


def run(plan: str | None) -> CleanReport:
    return clean(plan)
