"""`conductor replay PLAN [--verify]`: re-run a model-driven plan from its recordings, offline."""

from __future__ import annotations

from conductor.runner.plan.replay import Replay, replay


def run(plan: str, *, verify: bool) -> Replay:
    return replay(plan, must_match=verify)
