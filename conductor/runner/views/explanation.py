"""Explaining a step (`conductor explain STEP`): why it went the way it did — instruction,
confidence (its level and what it means) and factors, effective policy with origins, each
attempt's explanation (what the agent said), verdict and evidence (for a failed attempt what
the executor's process printed), recovery, commits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conductor.engine.state import ABANDONED_STEP, left_open
from conductor.errors import ConductorError, NotFoundError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.layout import DIRS, EXPLANATION, TASK, StepPaths
from conductor.policy.effective import shown
from conductor.project import find_root
from conductor.report import Report, plural
from conductor.runner.logs import forkstate
from conductor.runner.logs.plans import load_plan


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
SHOWN_LINES = 40  # of an explanation or an output, in the text (--json has all that was kept)


def _block(text: str, *, prefix: str) -> list[str]:
    """The last SHOWN_LINES lines of `text`, indented, after a note of how many were left out."""
    lines = text.rstrip().splitlines()
    out = (
        [f"{prefix}... {plural(len(lines) - SHOWN_LINES, 'earlier line')} (--json has them)"]
        if len(lines) > SHOWN_LINES
        else []
    )
    return out + [f"{prefix}{line}" for line in lines[-SHOWN_LINES:]]


def _head(text: str, *, prefix: str) -> list[str]:
    """The first SHOWN_LINES lines of `text`, indented, then how many more there are."""
    lines = text.rstrip().splitlines()
    out = [f"{prefix}{line}" for line in lines[:SHOWN_LINES]]
    if len(lines) > SHOWN_LINES:
        out.append(f"{prefix}... {plural(len(lines) - SHOWN_LINES, 'more line')} (--json has them)")
    return out


def confidence_line(confidence: dict[str, Any]) -> str:
    """`MEDIUM 0.62 — proceed with caution`."""
    level = str(confidence.get("level", ""))
    return f"{level.upper()} {confidence['score']:.2f} — {MEANING.get(level, level)}"


@dataclass
class Explanation(Report):
    """Everything recorded about one step, as one JSON object."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data

    def render(self) -> str:
        data = self.data
        out = [
            f"{data['step']} of {data['plan']}/{data['fork']}: {data['title']}  [{data['state']}]",
            "",
            "Instruction:",
            *[f"  {line}" for line in data["instruction"].splitlines()],
            f"Allowed files: {', '.join(data['allowed_files'])}",
        ]
        if data.get("confidence"):
            out.append(f"Confidence: {confidence_line(data['confidence'])}")
        for attempt in data["attempts"]:
            out.append("")
            label = (
                "Assessment (before any attempt)"
                if attempt["attempt"] == 0
                else f"Attempt {attempt['attempt']}"
            )
            out.append(label + ":")
            confidence = attempt["confidence"]
            if confidence:
                out.append(f"  confidence {confidence_line(confidence)}:")
                for factor in confidence["factors"]:
                    weighted = f"{factor['value']:.2f} x {factor['weight']:.2f}"
                    out.append(f"    {factor['name']:<9} {weighted}  {factor['detail']}")
            if attempt.get("explanation"):
                out.append("  explanation:")
                out.extend(_head(attempt["explanation"], prefix="    > "))
            verdict = attempt["verdict"]
            if verdict is None:
                abandoned = data["state"] == ABANDONED_STEP and attempt is data["attempts"][-1]
                out.append(
                    "  no verdict: the fork was abandoned before one came"
                    if abandoned
                    else "  no verdict yet"
                )
                continue
            if verdict.get("accepted"):
                out.append(f"  ACCEPTED: passed {', '.join(verdict['checks'])}")
                change = verdict.get("diffstat") or "no files changed"
                out.append(f"  change: {change} ({plural(verdict['lines'], 'line')})")
                if verdict.get("checkout_changed"):
                    out.append(
                        "  your checkout changed while it ran (left as it is; not judged): "
                        + ", ".join(map(str, verdict["checkout_changed"]))
                    )
            else:
                out.append(f"  REJECTED: {verdict['failure']} ({verdict['cause']}): {verdict['reason']}")
                for violation in verdict.get("violations", []):
                    out.append(f"    - {violation['path']}: {violation['detail']}")
                for line in verdict.get("evidence", [])[: 10 if not verdict.get("violations") else 0]:
                    out.append(f"    | {line}")
                out.append(f"  recovery: {verdict['hint']}")
                if verdict.get("checkout_changed"):
                    out.append(
                        "  your checkout changed while it ran (left as it is; not judged): "
                        + ", ".join(map(str, verdict["checkout_changed"]))
                    )
                if verdict.get("diffstat"):
                    out.append(f"  rejected change: {verdict['diffstat']}")
                for stream in STREAMS:
                    printed = attempt.get("output", {}).get(stream)
                    if printed and printed.strip():
                        out.append(f"  the executor's {stream} (its end, redacted):")
                        out.extend(_block(printed, prefix="    | "))
            for command in verdict.get("commands", []):
                status = "timed out" if command["timed_out"] else f"exit {command['exit_code']}"
                out.append(
                    f"  verify `{command['command']}`: {status} in {command['seconds']}s"
                    f" (output {command['output_sha256'][:19]}…)"
                )
            if attempt["evidence_files"]:
                out.append(f"  evidence: {', '.join(attempt['evidence_files'])}")
            if attempt["commit"]:
                out.append(f"  commit: {attempt['commit']}  (git show {attempt['commit'][:12]})")
        policy = data["policy"]
        if policy:
            out.append("")
            out.append("Effective policy for this step:")
            for key, entry in policy["values"].items():
                if isinstance(entry, list):
                    values = ", ".join(f"{i['value']} ({i['origin']})" for i in entry) or "[]"
                    out.append(f"  {key}: {values}")
                else:
                    out.append(f"  {key}: {shown(entry['value'])}  ({entry['origin']})")
        out.append("")
        out.append("Events:")
        for event in data["events"]:
            out.append(
                f"  {event['time'][:19].replace('T', ' ')}  {event['type']:<18} #{event['attempt'] or '-'}"
                f"  {event['summary']}"
            )
        out.append("")
        out.append(
            f"Records: git show {data['ref']}:{StepPaths(data['step']).evidence}/   Branch: {data['branch']}"
        )
        return "\n".join(out)


def locate(ledger: Ledger, step: str, plan: str | None, fork: str | None) -> tuple[str, str]:
    """The plan and fork to explain: as given, or the latest plan that has this step. A plan
    with this step in several forks is never guessed at: the fork must be named."""
    candidates = []
    for plan_id in [plan] if plan else ledger.plans():
        for fork_id in [fork] if fork else ledger.forks(plan_id):
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
    return Explanation(
        {
            "plan": plan_id,
            "fork": fork_id,
            "step": step,
            "title": spec.title,
            "instruction": spec.instruction,
            "allowed_files": list(spec.allowed_files) or ["**"],
            "state": ABANDONED_STEP if left_open(fork_state.status, state.phase) else state.phase.value,
            "confidence": confidence,
            "attempts": attempts,
            "policy": _json(tip.read(paths.policy)),
            "events": [e.to_json() for e in events],
            "ref": ref,
            "branch": refs.short_branch(plan_id, fork_id),
        }
    )
