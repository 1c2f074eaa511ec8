"""Comparing the forks of a plan, and recommending one — from the ledger alone; and the
comparison recorded in the plan log (`comparison.json`, `plan.compared`) when a run of a plan
with several forks ends, for `conductor compare` to show again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conductor.engine.state import ForkState, Phase
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.models.layout import COMPARISON_FILE, FORK_FILE, StepPaths
from conductor.report import plural


@dataclass
class ForkSummary:
    fork: str
    strategy: str
    branch: str
    status: str
    steps_total: int
    steps_passed: int
    evidence_passed: int  # verify commands that passed in accepted attempts
    evidence_total: int
    diff_lines: int
    confidence: float | None  # mean planned/computed confidence of its tasks
    tokens: int
    repairs: int
    seconds: float | None
    spawned: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "fork": self.fork,
            "strategy": self.strategy,
            "branch": self.branch,
            "status": self.status,
            "steps": {"passed": self.steps_passed, "total": self.steps_total},
            "evidence": {"passed": self.evidence_passed, "total": self.evidence_total},
            "diff_lines": self.diff_lines,
            "confidence": round(self.confidence, 2) if self.confidence is not None else None,
            "tokens": self.tokens,
            "repairs": self.repairs,
            "seconds": round(self.seconds, 1) if self.seconds is not None else None,
            "spawned": self.spawned,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ForkSummary:
        """A summary as `to_json` wrote it (into comparison.json)."""
        return cls(
            fork=str(data["fork"]),
            strategy=str(data.get("strategy") or ""),
            branch=str(data["branch"]),
            status=str(data["status"]),
            steps_total=int(data["steps"]["total"]),
            steps_passed=int(data["steps"]["passed"]),
            evidence_passed=int(data["evidence"]["passed"]),
            evidence_total=int(data["evidence"]["total"]),
            diff_lines=int(data["diff_lines"]),
            confidence=data.get("confidence"),
            tokens=int(data["tokens"]),
            repairs=int(data["repairs"]),
            seconds=data.get("seconds"),
            spawned=bool(data.get("spawned")),
        )


def summarize_fork(ledger: Ledger, plan: str, fork: str) -> ForkSummary:
    ref = refs.fork_log(plan, fork)
    events = list(ledger.log(ref, newest_first=False))
    state = ForkState.replay(plan, fork, events)
    tip = ledger.tip(ref)
    info = json.loads(tip.read_text(FORK_FILE) or "{}") if tip else {}
    steps = [s["id"] for s in info.get("steps", [])]
    passed = [s for s in steps if s in state.steps and state.steps[s].phase is Phase.COMPLETED]
    evidence_passed = evidence_total = 0
    for step in passed:
        st = state.steps[step]
        raw = tip.read(StepPaths(step).attempt(st.attempt).verdict) if tip else None
        commands = json.loads(raw).get("commands", []) if raw else []
        evidence_total += len(commands)
        evidence_passed += sum(1 for c in commands if c.get("exit_code") == 0)
    lines = sum(int(e.data.get("lines", 0)) for e in events if e.type is EventType.TASK_COMPLETED)
    scores = [
        float(e.data["confidence"]["score"])
        for e in events
        if e.type is EventType.TASK_CREATED and isinstance(e.data.get("confidence"), dict)
    ]

    def spent(kind: EventType) -> int:
        total = 0
        for e in events:
            usage = e.data.get("tokens") if e.type is kind else None
            if isinstance(usage, dict):
                total += int(usage.get("input", 0)) + int(usage.get("output", 0))
        return total

    # Model calls Conductor made itself, else what external executors reported (not both:
    # the llm executor reports its calls in its result too).
    tokens = spent(EventType.LLM_EXCHANGE) or spent(EventType.RESULT_RECEIVED)
    seconds = None
    ends = [e for e in events if e.type in (EventType.FORK_COMPLETED, EventType.FORK_FAILED)]
    if events and ends and events[0].time and ends[-1].time:
        seconds = (
            datetime.fromisoformat(ends[-1].time) - datetime.fromisoformat(events[0].time)
        ).total_seconds()
    return ForkSummary(
        fork=fork,
        strategy=str(info.get("strategy", "")),
        branch=refs.short_branch(plan, fork),
        status=state.status.value,
        steps_total=len(steps),
        steps_passed=len(passed),
        evidence_passed=evidence_passed,
        evidence_total=evidence_total,
        diff_lines=lines,
        confidence=sum(scores) / len(scores) if scores else None,
        tokens=tokens,
        repairs=sum(1 for e in events if e.type is EventType.REPAIR_SCHEDULED),
        seconds=seconds,
    )


def compare(ledger: Ledger, plan: str) -> list[ForkSummary]:
    spawned = set()
    for event in ledger.log(refs.plan_log(plan), newest_first=False):
        if event.type is EventType.FORK_SPAWNED and event.fork:
            spawned.add(event.fork)
    out = []
    for fork in ledger.forks(plan):
        summary = summarize_fork(ledger, plan, fork)
        summary.spawned = fork in spawned
        out.append(summary)
    return out


def _rank(s: ForkSummary) -> tuple[float, ...]:
    return (
        1.0 if s.status == "completed" else 0.0,
        s.steps_passed / s.steps_total if s.steps_total else 0.0,
        s.evidence_passed,
        -s.repairs,
        s.confidence or 0.0,
        -s.diff_lines,
        -s.tokens,
    )


def recommend(summaries: list[ForkSummary]) -> tuple[ForkSummary | None, str]:
    """The fork to merge, and why — or None when no fork completed."""
    done = [s for s in summaries if s.status == "completed"]
    if not done:
        return None, "no fork completed: see `conductor explain` on the failed steps"
    best = max(done, key=_rank)
    reasons = [f"{best.steps_passed}/{plural(best.steps_total, 'step')} passed"]
    if best.evidence_total:
        reasons.append(f"{best.evidence_passed}/{plural(best.evidence_total, 'verify command')} passed")
    others = [s for s in done if s is not best]
    if others:
        if all(best.repairs < o.repairs for o in others):
            reasons.append(f"fewest repairs ({best.repairs})")
        if all(best.diff_lines < o.diff_lines for o in others):
            reasons.append(f"smallest change ({plural(best.diff_lines, 'line')})")
        if best.confidence is not None and all((o.confidence or 0) < best.confidence for o in others):
            reasons.append(f"highest confidence ({best.confidence:.2f})")
        if len(reasons) == 1 + bool(best.evidence_total):
            reasons.append("best on the tie-breaks (evidence, repairs, confidence, size, tokens)")
    else:
        reasons.append("the only fork that completed")
    return best, "; ".join(reasons)


def table_rows(summaries: list[ForkSummary]) -> list[list[str]]:
    rows = [["fork", "status", "steps", "evidence", "diff", "confidence", "tokens", "time"]]
    for s in summaries:
        rows.append(
            [
                s.fork + (" (spawned)" if s.spawned else ""),
                s.status,
                f"{s.steps_passed}/{s.steps_total}",
                f"{s.evidence_passed}/{s.evidence_total}" if s.evidence_total else "-",
                plural(s.diff_lines, "line"),
                f"{s.confidence:.2f}" if s.confidence is not None else "-",
                str(s.tokens) if s.tokens else "-",
                f"{s.seconds:.1f}s" if s.seconds is not None else "-",
            ]
        )
    return rows


@dataclass
class Comparison:
    """A plan's forks compared and the one recommended, as recorded (or computed) at one moment.

    `tips` are the fork logs' tip commits it was computed from: when one has moved since, the
    recorded comparison is out of date."""

    plan: str
    state: str
    forks: list[ForkSummary]
    recommended: str | None
    reason: str
    tips: dict[str, str | None]
    time: str | None = None  # when it was recorded (None: computed now, not recorded)
    commit: str | None = None  # the plan-log commit of its `plan.compared` event

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "state": self.state,
            "forks": [f.to_json() for f in self.forks],
            "recommended": self.recommended,
            "reason": self.reason,
            "tips": self.tips,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, time: str | None, commit: str | None) -> Comparison:
        return cls(
            plan=str(data["plan"]),
            state=str(data["state"]),
            forks=[ForkSummary.from_json(f) for f in data["forks"]],
            recommended=data.get("recommended"),
            reason=str(data.get("reason") or ""),
            tips={str(k): v for k, v in dict(data.get("tips") or {}).items()},
            time=time,
            commit=commit,
        )


def fork_tips(ledger: Ledger, plan: str) -> dict[str, str | None]:
    return {fork: ledger.ref_target(refs.fork_log(plan, fork)) for fork in ledger.forks(plan)}


def current(ledger: Ledger, plan: str, state: str) -> Comparison:
    """The comparison as the ledger says now (not recorded)."""
    tips = fork_tips(ledger, plan)
    summaries = compare(ledger, plan)
    best, reason = recommend(summaries)
    return Comparison(plan, state, summaries, best.fork if best else None, reason, tips)


def record_comparison(ledger: Ledger, plan: str, state: str) -> Comparison | None:
    """At the end of a run of a plan with several forks: write the comparison into the plan log
    (`comparison.json`, event `plan.compared`, carrying the plan's state). Nothing for a plan with
    one fork, nor when the recorded one is still the same."""
    if len(ledger.forks(plan)) < 2:
        return None
    found = current(ledger, plan, state)
    before = recorded(ledger, plan)
    if before is not None and before.to_json() == found.to_json():
        return before
    what = f"recommended {found.recommended}" if found.recommended else "no fork to recommend"
    event = ledger.append(
        refs.plan_log(plan),
        Event(
            EventType.PLAN_COMPARED,
            plan=plan,
            summary=f"{plural(len(found.forks), 'fork')} compared: {what}",
            state=state,
            data={"recommended": found.recommended, "reason": found.reason},
        ),
        {COMPARISON_FILE: json.dumps(found.to_json(), indent=2) + "\n"},
    )
    found.time, found.commit = event.time, event.commit
    return found


def recorded(ledger: Ledger, plan: str) -> Comparison | None:
    """The comparison last recorded in the plan log, with when; None if there is none."""
    tip = ledger.tip(refs.plan_log(plan))
    raw = tip.read(COMPARISON_FILE) if tip is not None else None
    if tip is None or raw is None:
        return None
    for event in ledger.log(refs.plan_log(plan)):  # the newest plan.compared wrote it
        if event.type is EventType.PLAN_COMPARED:
            return Comparison.from_json(json.loads(raw), time=event.time, commit=event.commit)
    return Comparison.from_json(json.loads(raw), time=None, commit=None)


def moved_on(comparison: Comparison, ledger: Ledger) -> list[str]:
    """The forks whose logs have moved since the comparison was made (new, changed or gone)."""
    now = fork_tips(ledger, comparison.plan)
    return sorted(f for f in set(now) | set(comparison.tips) if now.get(f) != comparison.tips.get(f))
