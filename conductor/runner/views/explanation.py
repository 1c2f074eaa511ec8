"""Explaining a step (`conductor explain STEP`): why it went the way it did — instruction,
confidence (its level and what it means) and factors, effective policy with origins, each
attempt's explanation (what the agent said), verdict and evidence (for a failed attempt what
the executor's process printed), recovery, commits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conductor.errors import ConductorError, NotFoundError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.layout import DIRS, EXPLANATION, TASK, StepPaths
from conductor.project import find_root
from conductor.runner.logs import forkstate
from conductor.runner.logs.plans import load_plan
from conductor.runner.views.status import step_state


def _json(raw: bytes | None) -> Any:
    return json.loads(raw) if raw is not None else None


def _text(raw: bytes | None) -> str | None:
    return raw.decode("utf-8", "replace") if raw is not None else None


MEANING = {  # ConfidenceLevel (docs/protocol.md): what each band means for the step
    "high": "fully autonomous",
    "medium": "proceed with caution",
    "low": "human review recommended",
}
STREAMS = ("stderr", "stdout")  # what the executor's process printed, as kept for each attempt


@dataclass
class Explanation:
    """Everything recorded about one step, as one JSON-ready dict (commands show it)."""

    data: dict[str, Any]


def locate(ledger: Ledger, step: str, plan: str | None, fork: str | None) -> tuple[str, str]:
    """The plan and fork to explain: as given, or the latest plan that has this step. A plan
    with this step in several forks is never guessed at: the fork must be named."""
    candidates = []
    for plan_id, forks in ledger.plans_and_forks(plan or None).items():
        for fork_id in [fork] if fork else forks:
            tip = ledger.tip(refs.fork_log(plan_id, fork_id))
            paths = StepPaths(step)
            if tip is not None and (
                any(tip.exists(paths.record(d, TASK)) for d in DIRS) or tip.exists(paths.evidence)
            ):
                candidates.append((tip.event.time or "", plan_id, fork_id))
    if not candidates:
        raise NotFoundError(
            f"no {step} recorded" + (f" in plan {plan}" if plan else ""),
            hint="`conductor status` lists plans, forks and steps",
        )
    candidates.sort()
    plan_id, fork_id = candidates[-1][1], candidates[-1][2]
    forks = sorted(f for _, p, f in candidates if p == plan_id)
    if len(forks) > 1:
        raise ConductorError(
            f"{step} is in {len(forks)} forks of plan {plan_id}: {', '.join(forks)}",
            hint=f"name one: conductor explain {step} --plan {plan_id} --fork {forks[0]}",
        )
    return plan_id, fork_id


def explain(step: str, *, plan: str | None = None, fork: str | None = None) -> Explanation:
    ledger = Ledger(find_root())
    plan_id, fork_id = locate(ledger, step, plan, fork)
    record = load_plan(ledger, plan_id)
    spec = record.step(fork_id, step)
    ref = refs.fork_log(plan_id, fork_id)
    found = forkstate.read(ledger, plan_id, fork_id, only=[step])  # this step's state, not the log
    assert found is not None
    tip, fork_state = found.tip, found.state
    events = forkstate.step_events(ledger, plan_id, fork_id, fork_state, step)
    state = fork_state.step(step)
    paths = StepPaths(step)
    attempts = []
    for n in range(1, state.attempt + 1):
        evidence = paths.attempt(n)
        verdict = _json(tip.read(evidence.verdict))
        said = tip.read(evidence.kept(EXPLANATION))  # a failed attempt's own
        if said is None and n == state.attempt:  # the current attempt's, wherever it is now
            said = next(
                (raw for d in DIRS if (raw := tip.read(paths.record(d, EXPLANATION))) is not None), None
            )
        output = {stream: _text(tip.read(evidence.output(stream))) for stream in STREAMS}
        attempts.append(
            {
                "attempt": n,
                "confidence": _json(tip.read(evidence.confidence)),
                "explanation": _text(said),
                "output": {stream: text for stream, text in output.items() if text is not None},
                "verdict": verdict,
                "evidence_files": [f"{evidence.evidence}/{name}" for name in tip.listdir(evidence.evidence)],
                "commit": next(
                    (
                        e.data.get("commit")
                        for e in events
                        if e.type is EventType.TASK_COMPLETED and e.attempt == n
                    ),
                    None,
                ),
            }
        )
    if not attempts:  # waiting for approval: only the assessment exists
        assessment = _json(tip.read(paths.assessment))
        if assessment is not None:
            attempts.append(
                {
                    "attempt": 0,
                    "confidence": assessment,
                    "explanation": None,
                    "output": {},
                    "verdict": None,
                    "evidence_files": [],
                    "commit": None,
                }
            )
    latest = next((a["confidence"] for a in reversed(attempts) if a["confidence"]), None)
    confidence = (
        {
            "level": latest["level"],
            "score": latest["score"],
            "meaning": MEANING.get(str(latest["level"]), str(latest["level"])),
        }
        if latest
        else None
    )
    shown_state, shown_attempt = step_state(fork_state.status, state)  # as status shows it
    return Explanation(
        {
            "plan": plan_id,
            "fork": fork_id,
            "step": step,
            "title": spec.title,
            "instruction": spec.instruction,
            "allowed_files": list(spec.allowed_files) or ["**"],
            "state": shown_state,
            "attempt": shown_attempt,
            "confidence": confidence,
            "attempts": attempts,
            "policy": _json(tip.read(paths.policy)),
            "events": [e.to_json() for e in events],
            "ref": ref,
            "branch": refs.short_branch(plan_id, fork_id),
        }
    )
