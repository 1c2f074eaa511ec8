"""What a plan made by `conductor fork --from` inherits, checked for `conductor verify`.

The commits before such a plan's first step are the plan it came from's: they are verified
against that plan's records — its fork's log is one chain, its accepted steps up to the point
verify (their commits in the new plan's base), the base is exactly that step's commit, and
nothing else lies between that plan's base and this one's. A plan that came from such a plan
inherits that one's steps too: the check follows the origins back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models import untrusted
from conductor.models.event import Event, EventType
from conductor.models.layout import PLAN_FILE
from conductor.models.origin import Origin
from conductor.provenance.attestation import Check, Options, StepReport, accepted_steps, verify_step
from conductor.report import plural

FETCH = f"git fetch origin {refs.SHARED} (conductor pr pushes them)"


@dataclass
class Inherited:
    """The steps one plan inherits from the point it came from, checked."""

    plan: str  # the plan that inherits
    origin: Origin
    checks: list[Check] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and all(s.ok for s in self.steps)

    @property
    def failed(self) -> int:
        return sum(not c.ok for c in self.checks) + sum(not s.ok for s in self.steps)


def plan_data(ledger: Ledger, plan: str) -> dict[str, Any] | None:
    """A plan's plan.json as recorded, or None when it is not here or cannot be read."""
    tip = ledger.tip(refs.plan_log(plan))
    raw = tip.read(PLAN_FILE) if tip is not None else None
    try:  # bounded: a record may be crafted (a failed check, never a crash)
        return untrusted.load_object(raw, name=PLAN_FILE) if raw is not None else None
    except ValueError:
        return None


def lineage(ledger: Ledger, plan: str) -> list[tuple[str, Origin]]:
    """(plan, where it came from) for `plan` and, on back, each plan it came from that came from
    another; newest first. Stops where a plan's records are not here (or at a loop)."""
    out: list[tuple[str, Origin]] = []
    seen = {plan}
    data = plan_data(ledger, plan)
    while data is not None:
        origin = Origin.of_plan(data)
        if origin is None:
            break
        out.append((plan, origin))
        if origin.plan in seen:
            break
        seen.add(origin.plan)
        plan, data = origin.plan, plan_data(ledger, origin.plan)
    return out


def inherited_steps(origin: Origin, events: list[Event]) -> list[str]:
    """The steps of the origin's fork, accepted up to and including its step, in order."""
    accepted = accepted_steps(events)
    if origin.step not in accepted:
        return []
    return accepted[: accepted.index(origin.step) + 1]


def verify_inherited(ledger: Ledger, plan: str, options: Options) -> list[Inherited]:
    """What `plan` inherits, and what each plan it came from inherits in turn."""
    return [check_origin(ledger, child, origin, options) for child, origin in lineage(ledger, plan)]


def check_origin(ledger: Ledger, plan: str, origin: Origin, options: Options) -> Inherited:
    """The steps `plan` inherits from `origin`, against the records of the plan it came from."""
    found = Inherited(plan, origin)
    base = str((plan_data(ledger, plan) or {}).get("base", ""))
    source = plan_data(ledger, origin.plan)
    log = refs.fork_log(origin.plan, origin.fork)
    tip = ledger.tip(log)
    if source is None or tip is None:
        found.checks.append(
            Check("records", False, f"the records of {origin.plan}/{origin.fork} are not here: {FETCH}")
        )
        return found
    if not _has(ledger, base):
        found.checks.append(Check("base", False, f"{plan}'s base {base[:12]} is not in this repository"))
        return found
    events = list(ledger.log(log, newest_first=False))
    commits = accepted_commits(events)
    source_base = str(source.get("base", ""))
    steps = inherited_steps(origin, events)
    found.checks.append(_base(base, origin, source_base, commits))
    found.checks.append(_chain(origin, events))
    within = (f"{plan}'s base {base[:12]}", base)
    found.steps = [verify_step(ledger, tip, events, step, options, within=within) for step in steps]
    attested = {commits[step] for step in steps if step in commits}
    found.checks.append(_between(ledger, source_base, base, origin, attested))
    return found


def accepted_commits(events: list[Event]) -> dict[str, str]:
    """Each accepted step's commit, as its fork log recorded it."""
    return {
        e.step: str(e.data.get("commit"))
        for e in events
        if e.type is EventType.TASK_COMPLETED and e.step and e.data.get("commit")
    }


def _base(base: str, origin: Origin, source_base: str, commits: dict[str, str]) -> Check:
    """The plan's base is exactly the commit of the point it came from, as that plan recorded it."""
    where = f"{origin.plan}/{origin.fork} {origin.step or 'tip'}"
    if origin.step == "base" or (origin.step is None and base == source_base):
        expected: str | None = source_base
        point = f"{origin.plan}'s base"
    else:
        expected = commits.get(origin.step) if origin.step else None
        point = f"{where}'s commit"
    if expected is None:
        what = "no accepted step" if origin.step else "no accepted step's commit (attested by nothing)"
        return Check("base", False, f"{where} is {what}: the base {base[:12]} is not attested")
    if base != expected or origin.commit != expected:
        return Check(
            "base",
            False,
            f"the base {base[:12]} (origin {origin.commit[:12]}) is not {point} {expected[:12]}",
        )
    return Check("base", True, f"{base[:12]} is {point}")


def _chain(origin: Origin, events: list[Event]) -> Check:
    """The origin's fork log is one chain of events numbered 1..N (as verifier.chain)."""
    name = f"chain {origin.plan}/{origin.fork}"
    seqs = [e.seq for e in events]
    if seqs != list(range(1, len(events) + 1)):
        return Check(name, False, f"event numbers are not 1..{len(events)}: {seqs[:10]}...")
    return Check(name, True, f"{plural(len(events), 'event')}, one chain, numbered without gaps")


def _between(ledger: Ledger, source_base: str, base: str, origin: Origin, attested: set[str]) -> Check:
    """Every commit between the origin plan's base and this plan's base is an inherited step's."""
    if not _has(ledger, source_base) or not ledger.is_ancestor(source_base, base):
        return Check(
            "commits", False, f"the base does not descend from {origin.plan}'s base {source_base[:12]}"
        )
    between = ledger.commits_between(source_base, base)
    if not between:
        return Check("commits", True, f"none between {origin.plan}'s base and this one: no commit inherited")
    extra = [(oid, subject) for oid, subject in between if oid not in attested]
    if extra:
        shown = "; ".join(f"{oid[:12]} {subject}" for oid, subject in extra[:10]) + (
            " …" if len(extra) > 10 else ""
        )
        return Check(
            "commits", False, f"{plural(len(extra), 'inherited commit')} attested by nothing: {shown}"
        )
    return Check(
        "commits",
        True,
        f"{plural(len(between), 'commit')} from {origin.plan}'s base, each an inherited step's",
    )


def _has(ledger: Ledger, commit: str) -> bool:
    try:
        ledger.object_bytes(commit)
    except (KeyError, ValueError):
        return False
    return True
