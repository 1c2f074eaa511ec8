"""`conductor abandon PLAN [--fork F]`: record the end of a plan (or a fork) that will not be
finished, with the reason; `clean` then removes its worktrees."""

from __future__ import annotations

from conductor.runner.plan.abandon import Abandoned, abandon


def run(plan: str, *, fork: str | None, reason: str) -> Abandoned:
    return abandon(plan, fork=fork, reason=reason)
