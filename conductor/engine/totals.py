"""What a fork spent and produced, summed as its events are folded (engine/state.py keeps it in
ForkState, and so in the fork log's `state.json`): what `conductor compare` shows of each fork
without reading its log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conductor.models.event import Event, EventType

ENDS = (EventType.FORK_COMPLETED, EventType.FORK_FAILED)


@dataclass
class ForkTotals:
    lines: int = 0  # changed lines of the accepted attempts (task.completed)
    score_sum: float = 0.0  # the confidence scores the tasks were handed out with
    scores: int = 0
    llm_tokens: int = 0  # the model calls Conductor made itself (llm.exchange)
    reported_tokens: int = 0  # what the executors reported with their results (result.received)
    repairs: int = 0
    began: str | None = None  # the time of the log's first event
    ended: str | None = None  # the time of its last fork.completed or fork.failed

    def apply(self, event: Event) -> None:
        kind = event.type
        if self.began is None:
            self.began = event.time
        if kind is EventType.TASK_COMPLETED:
            self.lines += int(event.data.get("lines", 0))
        elif kind is EventType.TASK_CREATED:
            found = event.data.get("confidence")
            score = found.get("score") if isinstance(found, dict) else None
            if isinstance(score, int | float):
                self.score_sum += float(score)
                self.scores += 1
        elif kind is EventType.REPAIR_SCHEDULED:
            self.repairs += 1
        elif kind in ENDS:
            self.ended = event.time
        if kind is EventType.LLM_EXCHANGE:
            self.llm_tokens += _tokens(event.data.get("tokens"))
        elif kind is EventType.RESULT_RECEIVED:
            self.reported_tokens += _tokens(event.data.get("tokens"))

    @property
    def tokens(self) -> int:
        """Model calls Conductor made itself, else what external executors reported (not both:
        the llm executor reports its calls in its result too)."""
        return self.llm_tokens or self.reported_tokens

    @property
    def confidence(self) -> float | None:
        """The mean confidence score the fork's tasks were handed out with."""
        return self.score_sum / self.scores if self.scores else None

    def record(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "score_sum": self.score_sum,
            "scores": self.scores,
            "llm_tokens": self.llm_tokens,
            "reported_tokens": self.reported_tokens,
            "repairs": self.repairs,
            "began": self.began,
            "ended": self.ended,
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> ForkTotals:
        """The totals as `record` wrote them (KeyError, TypeError or ValueError when malformed)."""
        began, ended = data["began"], data["ended"]
        return cls(
            lines=int(data["lines"]),
            score_sum=float(data["score_sum"]),
            scores=int(data["scores"]),
            llm_tokens=int(data["llm_tokens"]),
            reported_tokens=int(data["reported_tokens"]),
            repairs=int(data["repairs"]),
            began=str(began) if began is not None else None,
            ended=str(ended) if ended is not None else None,
        )


def _tokens(usage: object) -> int:
    if not isinstance(usage, dict):
        return 0
    return int(usage.get("input", 0)) + int(usage.get("output", 0))
