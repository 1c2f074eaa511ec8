"""A replay as the commands show it (replay, the demo): each accepted step's tree against the
original's, and whether they all matched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.report import Report

if TYPE_CHECKING:
    from conductor.commands.output import contract as c
    from conductor.runner.plan.replay import Replay


@dataclass
class ReplayReport(Report):
    replay: Replay
    must_match: bool = False  # `--verify`: a different tree is a failure

    @property
    def exit_code(self) -> int:
        return 1 if self.must_match and not self.replay.identical else 0

    def to_json(self) -> c.Replay:
        r = self.replay
        return {
            "replay_of": r.source,
            "plan": r.plan,
            "state": cast("c.PlanState", r.state),
            "identical": r.identical,
            "steps": [
                {
                    "fork": s.fork,
                    "step": s.step,
                    "original_tree": s.original,
                    "replayed_tree": s.replayed,
                    "same": s.same,
                }
                for s in r.steps
            ],
            "request_drift": r.drift,
        }

    def render(self) -> str:
        r = self.replay
        lines = [f"replayed {r.source} as {r.plan}: {r.state}"]
        for step in r.steps:
            mark = "same tree" if step.same else "DIFFERENT"
            trees = f"{(step.original or '-')[:12]} vs {(step.replayed or '-')[:12]}"
            lines.append(f"  {step.fork}/{step.step}: {mark}  ({trees})")
        if r.drift:
            lines.append(
                "  (requests that differed from the recorded ones, e.g. through lessons learned since,"
                f" were answered all the same: {', '.join(r.drift)})"
            )
        lines.append("Every step produced the same tree." if r.identical else "The replay diverged.")
        return "\n".join(lines)
