"""`conductor replay PLAN [--verify]`: re-run a model-driven plan from its recordings, offline."""

from __future__ import annotations

from conductor.commands.output.replays import ReplayReport
from conductor.runner.plan.replay import replay


def run(plan: str, *, verify: bool) -> ReplayReport:
    return ReplayReport(replay(plan), must_match=verify)
