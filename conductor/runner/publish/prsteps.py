"""The steps a pull request's description lists, read from the ledger: every step whose commit
the fork's branch carries — first those it inherits from the plans it came from (`conductor
fork --from`, following the origins back), then its own — each with its verdict, verify
commands, provenance and the agent's explanation; and the record refs those steps are in.
"""

from __future__ import annotations

import json
from typing import Any

from conductor.engine.state import ForkState, Phase
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.layout import COMPLETED, EXPLANATION, StepPaths
from conductor.provenance.inherited import lineage
from conductor.runner.logs import forkstate
from conductor.runner.logs.forklog import read_record
from conductor.runner.publish import prbody


def _json(raw: bytes | None) -> Any:
    return json.loads(raw) if raw is not None else None


def on_branch(ledger: Ledger, plan: str, fork: str) -> list[prbody.StepFacts]:
    """The steps whose commits the fork's branch carries, oldest first: inherited, then its own."""
    steps: list[prbody.StepFacts] = []
    for _, origin in reversed(lineage(ledger, plan)):
        read = forkstate.read(ledger, origin.plan, origin.fork)
        accepted = _accepted(read.state) if read is not None else []  # as inherited.inherited_steps
        kept = accepted[: accepted.index(origin.step) + 1] if origin.step in accepted else []
        label = f"{origin.plan}/{origin.fork}"
        steps += [
            s for s in fork_steps(ledger, origin.plan, origin.fork, inherited_from=label) if s.id in kept
        ]
    return steps + fork_steps(ledger, plan, fork)


def _accepted(state: ForkState) -> list[str]:
    """The fork's steps with an accepted attempt, in the order they were first accepted."""
    return [st.id for st in sorted(state.steps.values(), key=lambda st: st.accepted_seq) if st.accepted_seq]


def record_refs(ledger: Ledger, plan: str) -> list[str]:
    """The plan and fork logs of the plans whose steps the plan inherits (those that are here),
    and the tip `conductor adopt` kept of such a fork whose branch it adopted or pruned."""
    found: list[str] = []
    for _, origin in lineage(ledger, plan):
        for ref in (
            refs.plan_log(origin.plan),
            refs.fork_log(origin.plan, origin.fork),
            refs.kept(origin.plan, origin.fork),
        ):
            if ref not in found and ledger.log_end(ref) is not None:
                found.append(ref)
    return found


def source_branches(ledger: Ledger, plan: str) -> list[str]:
    """The branches of the forks the plan inherits from (those that are here): pushed with it,
    so that the old plan's records, which go with them, verify in a reviewer's clone too (its
    later steps' commits are on its branch, not on this one)."""
    found: list[str] = []
    for _, origin in lineage(ledger, plan):
        branch = refs.code_branch(origin.plan, origin.fork)
        if branch not in found and ledger.points_at(branch) is not None:
            found.append(branch)
    return found


def fork_steps(
    ledger: Ledger, plan: str, fork: str, *, inherited_from: str | None = None
) -> list[prbody.StepFacts]:
    """Each planned step of a fork, as its log's tip tells it (the fork's kept state, and each
    step's own events: runner/logs/forkstate.py); `inherited_from`: the plan and fork a plan
    made by fork --from inherited them from."""
    read = forkstate.read(ledger, plan, fork)
    tip = read.tip if read is not None else None
    state = read.state if read is not None else ForkState(plan, fork)
    record = read_record(tip)
    redact = ledger.redactor.text  # a credential of this environment (the token) is shown to no one
    steps = []
    for planned in record.steps if record is not None else ():
        step = planned.id
        st = state.steps.get(step)
        events = forkstate.step_events(ledger, plan, fork, state, step)
        created = [e for e in events if e.type is EventType.TASK_CREATED]
        confidence = created[-1].data.get("confidence") if created else None
        completed = [e for e in events if e.type is EventType.TASK_COMPLETED]
        done = completed[-1].data if completed else {}
        rejections, commands = [], []
        for n in range(1, (st.attempt if st else 0) + 1):
            verdict = _json(tip.read(StepPaths(step).attempt(n).verdict)) if tip else None
            if not isinstance(verdict, dict):
                continue
            if verdict.get("accepted"):
                commands = [(str(c["command"]), c.get("exit_code") == 0) for c in verdict.get("commands", [])]
            else:
                rejections.append(
                    prbody.Rejection(
                        n, str(verdict.get("failure", "rejected")), str(verdict.get("reason", ""))
                    )
                )
        said = tip.read(StepPaths(step).record(COMPLETED, EXPLANATION)) if tip and completed else None
        steps.append(
            prbody.StepFacts(
                id=step,
                title=planned.title,
                state="completed"
                if st and st.phase is Phase.COMPLETED
                else (st.phase.value if st else "planned"),
                confidence=float(confidence["score"]) if isinstance(confidence, dict) else None,
                level=str(confidence["level"])
                if isinstance(confidence, dict) and "level" in confidence
                else None,
                commands=commands,
                rejections=rejections,
                provenance=done.get("provenance"),
                signer=done.get("signed_by") if done.get("signed") else None,
                commit=done.get("commit"),
                inherited_from=inherited_from,
                explanation=redact(said.decode("utf-8", "replace")) if said else None,
            )
        )
    return steps
