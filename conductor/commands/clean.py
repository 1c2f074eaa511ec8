"""`conductor clean [PLAN]`: remove worktrees and mailboxes of finished plans (history stays)."""

from __future__ import annotations

from conductor.runner.plan.cleanup import CleanReport, clean


def run(plan: str | None) -> CleanReport:
    return clean(plan)
