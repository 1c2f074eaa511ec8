"""Comparing the forks of a plan, and recommending one — from the ledger alone; and the
comparison recorded in the plan log (`comparison.json`, `plan.compared`) when a run of a plan
with several forks ends, for `conductor compare` to show again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conductor.engine.state import ForkState, Phase, left_open
from conductor.errors import LedgerFormatError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.layout import COMPARISON_FILE, StepPaths
from conductor.report import plural
from conductor.runner.logs import forkstate
from conductor.runner.logs.forklog import read_record
from conductor.runner.logs.planlog import PlanLog


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
    waiting: list[str] = field(default_factory=list)  # its steps that wait for a person's approval

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
            "waiting": self.waiting,
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
            waiting=[str(step) for step in data.get("waiting") or []],
        )


def summarize_fork(ledger: Ledger, plan: str, fork: str) -> ForkSummary:
    """The fork as its log's tip says (its kept state and totals: engine/totals.py), with the
    verify commands of each accepted step from its verdict."""
    found = forkstate.read(ledger, plan, fork)
    state = found.state if found is not None else ForkState(plan, fork)
    tip = found.tip if found is not None else None
    record = read_record(tip)
    steps = record.step_ids if record is not None else []
    passed = [s for s in steps if s in state.steps and state.steps[s].phase is Phase.COMPLETED]
    evidence_passed = evidence_total = 0
    for step in passed:
        st = state.steps[step]
        raw = tip.read(StepPaths(step).attempt(st.attempt).verdict) if tip else None
        commands = json.loads(raw).get("commands", []) if raw else []
        evidence_total += len(commands)
        evidence_passed += sum(1 for c in commands if c.get("exit_code") == 0)
    totals = state.totals
    seconds = None
    if totals.began and totals.ended:
        ended, began = datetime.fromisoformat(totals.ended), datetime.fromisoformat(totals.began)
        seconds = (ended - began).total_seconds()
    return ForkSummary(
        fork=fork,
        strategy=record.strategy if record is not None else "",
        branch=refs.short_branch(plan, fork),
        status=state.status.value,
        steps_total=len(steps),
        steps_passed=len(passed),
        evidence_passed=evidence_passed,
        evidence_total=evidence_total,
        diff_lines=totals.lines,
        confidence=totals.confidence,
        tokens=totals.tokens,
        repairs=totals.repairs,
        seconds=seconds,
        waiting=[
            s
            for s in steps
            if s in state.steps
            and state.steps[s].phase is Phase.AWAITING_APPROVAL
            and not left_open(state.status, Phase.AWAITING_APPROVAL)
        ],
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
    """The fork to merge, and why; or None, and why not.

    Only evidence tells completed forks apart: a fork is recommended over another for verify
    commands that passed. A fork whose own verify commands failed (accepted by a person's
    approval) is never recommended; when no completed fork has verify commands that all passed,
    none is recommended over another (confidence, repairs and size say more about the order
    things happened in than about the change), and the reason says so. With no fork completed,
    the reason says what each one is doing: waiting for approval, failed, halted or running."""
    done = [s for s in summaries if s.status == "completed"]
    if not done:
        return None, f"no fork completed: {unfinished(summaries)}"
    proven = [s for s in done if s.evidence_total and s.evidence_passed == s.evidence_total]
    if not proven:
        if len(done) == 1 and not done[0].evidence_total:
            alone = "the only fork" if len(summaries) == 1 else "the only fork that completed"
            return done[0], f"{alone}; no verify command checked its change"
        rest = [s for s in summaries if s.status != "completed"]
        return None, unproven(done) + (f"; {unfinished(rest)}" if rest else "")
    best = max(proven, key=_rank)
    reasons = [f"{best.steps_passed}/{plural(best.steps_total, 'step')} passed"]
    reasons.append(f"{best.evidence_passed}/{plural(best.evidence_total, 'verify command')} passed")
    others = [s for s in proven if s is not best]
    if others:
        if all(best.repairs < o.repairs for o in others):
            reasons.append(f"fewest repairs ({best.repairs})")
        if all(best.diff_lines < o.diff_lines for o in others):
            reasons.append(f"smallest change ({plural(best.diff_lines, 'line')})")
        if best.confidence is not None and all((o.confidence or 0) < best.confidence for o in others):
            reasons.append(f"highest confidence ({best.confidence:.2f})")
        if len(reasons) == 2:
            reasons.append("best on the tie-breaks (evidence, repairs, confidence, size, tokens)")
    elif len(done) == 1:
        reasons.append("the only fork that completed")
    else:
        rest = [s for s in done if s is not best]
        reasons.append(f"the only completed fork whose verify commands all passed ({unproven(rest)})")
    return best, "; ".join(reasons)


def unproven(done: list[ForkSummary]) -> str:
    """Why completed forks are not recommended: whose verify commands failed, which ran none."""
    failed = [s for s in done if s.evidence_passed < s.evidence_total]
    bare = [s for s in done if not s.evidence_total]
    said = [
        f"{s.fork}'s own verify commands failed ({s.evidence_passed}/{s.evidence_total} passed)"
        for s in failed
    ]
    if bare:
        verb = "ran" if len(bare) == 1 else "each ran"
        said.append(f"{_names(bare)} {verb} no verify command")
    if len(bare) > 1 and not failed:
        said.append(
            "no evidence tells them apart (confidence, repairs and size follow the order they ran"
            " and were approved in), so compare their changes yourself"
        )
    return "; ".join(said)


def unfinished(summaries: list[ForkSummary]) -> str:
    """What each fork that did not complete is doing: waiting for approval (which steps),
    failed, halted, still running, abandoned."""
    waiting: dict[tuple[str, ...], list[str]] = {}
    for s in summaries:
        if s.waiting:
            waiting.setdefault(tuple(s.waiting), []).append(s.fork)
    said = [
        f"{_forks(forks)} {'waits' if len(forks) == 1 else 'wait'} for approval of {', '.join(steps)}"
        for steps, forks in waiting.items()
    ]
    by_status: dict[str, list[str]] = {}
    for s in summaries:
        if not s.waiting and s.status != "completed":
            by_status.setdefault(s.status, []).append(s.fork)
    said += [_doing(status, forks) for status, forks in by_status.items()]
    return "; ".join(said)


def _doing(status: str, forks: list[str]) -> str:
    """What forks in `status` (not completed, not waiting for approval) are doing, in words."""
    one = len(forks) == 1
    if status == "failed":
        return f"{_forks(forks)} failed: see `conductor explain` on {'its' if one else 'their'} failed steps"
    if status == "halted":
        return f"{_forks(forks)} halted (`conductor status` says why; `conductor resume` continues)"
    if status == "abandoned":
        return f"{_forks(forks)} {'was' if one else 'were'} abandoned"
    return f"{_forks(forks)} {'is' if one else 'are'} still running"


def _names(summaries: list[ForkSummary]) -> str:
    return _and([s.fork for s in summaries])


def _forks(forks: list[str]) -> str:
    return f"fork {forks[0]}" if len(forks) == 1 else f"forks {_and(forks)}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def table_rows(summaries: list[ForkSummary]) -> list[list[str]]:
    rows = [["fork", "status", "steps", "evidence", "diff", "confidence", "tokens", "time"]]
    for s in summaries:
        rows.append(
            [
                s.fork + (" (spawned)" if s.spawned else ""),
                "awaiting approval" if s.waiting else s.status,
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
    return {fork: ledger.log_end(refs.fork_log(plan, fork)) for fork in ledger.forks(plan)}


def current(ledger: Ledger, plan: str, state: str) -> Comparison:
    """The comparison as the ledger says now (not recorded)."""
    tips = fork_tips(ledger, plan)
    summaries = compare(ledger, plan)
    best, reason = recommend(summaries)
    return Comparison(plan, state, summaries, best.fork if best else None, reason, tips)


def record_comparison(ledger: Ledger, plan: str, state: str) -> Comparison | None:
    """At the end of a run of a plan with several forks: write the comparison into the plan log
    (`comparison.json`, event `plan.compared`, which carries the plan's state on). Nothing for a plan with
    one fork, nor when the recorded one is still the same."""
    if len(ledger.forks(plan)) < 2:
        return None
    found = current(ledger, plan, state)
    try:
        before = recorded(ledger, plan)
    except LedgerFormatError:  # recorded anew below
        before = None
    if before is not None and before.to_json() == found.to_json():
        return before
    what = f"recommended {found.recommended}" if found.recommended else "no fork to recommend"
    event = PlanLog(ledger, plan).record(
        EventType.PLAN_COMPARED,
        f"{plural(len(found.forks), 'fork')} compared: {what}",
        data={"recommended": found.recommended, "reason": found.reason},
        changes={COMPARISON_FILE: json.dumps(found.to_json(), indent=2) + "\n"},
    )
    found.time, found.commit = event.time, event.commit
    return found


def recorded(ledger: Ledger, plan: str) -> Comparison | None:
    """The comparison last recorded in the plan log, with when; None if there is none, and
    LedgerFormatError, naming it, when it cannot be read (a plan log fetched from a remote)."""
    log = refs.plan_log(plan)
    tip = ledger.tip(log)
    raw = tip.read(COMPARISON_FILE) if tip is not None else None
    if tip is None or raw is None:
        return None
    # the newest plan.compared wrote it
    event = next((e for e in ledger.log(log) if e.type is EventType.PLAN_COMPARED), None)
    try:
        return Comparison.from_json(
            json.loads(raw),
            time=event.time if event is not None else None,
            commit=event.commit if event is not None else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LedgerFormatError(
            f"{log}:{COMPARISON_FILE} cannot be read ({type(exc).__name__}: {exc})",
            hint="the next run of the plan that ends records a new one; compare computes it meanwhile",
        ) from None


def moved_on(comparison: Comparison, ledger: Ledger) -> list[str]:
    """The forks whose logs have moved since the comparison was made (new, changed or gone)."""
    now = fork_tips(ledger, comparison.plan)
    return sorted(f for f in set(now) | set(comparison.tips) if now.get(f) != comparison.tips.get(f))
