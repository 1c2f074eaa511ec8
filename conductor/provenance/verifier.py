"""`conductor verify`: check, offline, a plan's forks — each log is one unbroken chain, each
branch ends at its last accepted step — and every accepted step (attestation.py), inherited
ones too (inherited.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conductor.errors import LedgerFormatError, NotFoundError
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models import untrusted
from conductor.models.event import Event, EventType
from conductor.models.forkrecord import ForkRecord
from conductor.models.layout import FORK_FILE
from conductor.provenance.attestation import Check, Options, StepReport, accepted_steps, verify_step
from conductor.provenance.branches import ADOPTED, PRUNED, contains, locate
from conductor.provenance.inherited import Inherited, verify_inherited
from conductor.report import plural


@dataclass
class Verified:
    """Every fork chain and accepted step of a plan, checked (commands/output/verification.py
    shows it)."""

    plan: str
    chains: list[Check] = field(default_factory=list)
    branches: list[Check] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)
    inherited: list[Inherited] = field(default_factory=list)  # fork --from: provenance/inherited.py

    @property
    def ok(self) -> bool:
        checks = all(c.ok for c in [*self.chains, *self.branches]) and all(s.ok for s in self.steps)
        return checks and all(i.ok for i in self.inherited)


def verify_plan(ledger: Ledger, plan: str, *, fork: str | None = None, options: Options) -> Verified:
    """Every fork of `plan` (or only `fork`): its chain and its accepted steps."""
    forks = ledger.forks(plan)
    if not forks:
        raise NotFoundError(f"no plan {plan} is recorded", hint="`conductor status` lists the plans")
    if fork is not None and fork not in forks:
        raise NotFoundError(f"plan {plan} has no fork {fork}", hint=f"its forks: {', '.join(forks)}")
    report = Verified(plan)
    for fork_id in [fork] if fork else forks:
        check, steps = verify_fork(ledger, plan, fork_id, options)
        report.chains.append(check)
        report.branches.append(branch_tip(ledger, plan, fork_id, options))
        report.steps += steps
    report.inherited = verify_inherited(ledger, plan, options)
    return report


def branch_tip(ledger: Ledger, plan: str, fork: str, options: Options) -> Check:
    """The fork branch ends at its last accepted step (or, with none, at the plan's base):
    a commit on top of it is attested by nothing. A branch `conductor adopt` pruned or adopted
    and that is gone is checked where adopt kept its tip, and reported as such (branches.py)."""
    code = locate(ledger, plan, fork)
    if code.tip is None:
        return Check(f"branch {fork}", False, code.story, state=code.how)
    check = _ends_at_last_step(ledger, plan, fork, options, code.name, code.tip)
    check.detail = f"{code.story}: {check.detail}" if code.story else check.detail
    check.state = code.how
    return check


def _ends_at_last_step(
    ledger: Ledger, plan: str, fork: str, options: Options, branch: str, tip: str
) -> Check:
    name = f"branch {fork}"
    last = ledger.tip(refs.fork_log(plan, fork))
    expected = _last_accepted(ledger, plan, fork) or (_fork_base(last) if last is not None else None)
    if expected is None or tip == expected:
        return Check(name, True, f"{branch} ends at its last accepted step")
    if not contains(ledger, expected, tip):
        return Check(name, False, f"{branch} does not contain its last accepted step {expected[:12]}")
    extra = ledger.commits_between(expected, tip)
    shown = "; ".join(f"{oid[:12]} {subject}" for oid, subject in extra[:10]) + (
        " …" if len(extra) > 10 else ""
    )
    if options.allow_reviewer_commits:
        return Check(
            name,
            True,
            f"{plural(len(extra), 'reviewer commit')} on top, accepted by --allow-reviewer-commits: {shown}",
        )
    return Check(
        name,
        False,
        f"{plural(len(extra), 'commit')} on top of the last accepted step"
        f" {'is' if len(extra) == 1 else 'are'} attested by nothing: {shown}"
        " (--allow-reviewer-commits accepts them)",
    )


def _last_accepted(ledger: Ledger, plan: str, fork: str) -> str | None:
    for event in ledger.log(refs.fork_log(plan, fork)):  # newest first: stops at the last one
        if event.type is EventType.TASK_COMPLETED and event.data.get("commit"):
            return str(event.data["commit"])
    return None


def _fork_base(tip: Snapshot) -> str | None:
    """The base fork.json names, or None when there is none or the record is not one."""
    raw = tip.read(FORK_FILE)
    try:
        record = ForkRecord.from_json(untrusted.load_object(raw, name=FORK_FILE)) if raw is not None else None
    except (ValueError, LedgerFormatError):
        return None
    return record.base if record is not None and record.base else None


def verify_fork(ledger: Ledger, plan: str, fork: str, options: Options) -> tuple[Check, list[StepReport]]:
    """The chain of a fork's log and every step it accepted (the log is read once)."""
    ref = refs.fork_log(plan, fork)
    events = list(ledger.log(ref, newest_first=False))
    tip = ledger.tip(ref)
    check = chain(events)
    check.name = f"chain {fork}"
    if tip is None:
        return check, []
    code = locate(ledger, plan, fork, events, tell=False)
    kept = (code.name, str(code.tip)) if code.how in (PRUNED, ADOPTED) else None  # the branch is gone
    steps = accepted_steps(events)
    return check, [verify_step(ledger, tip, events, step, options, within=kept) for step in steps]


def chain(events: list[Event]) -> Check:
    """The fork log is one chain of events numbered 1..N."""
    seqs = [e.seq for e in events]
    if seqs != list(range(1, len(events) + 1)):
        return Check("chain", False, f"event numbers are not 1..{len(events)}: {seqs[:10]}...")
    return Check("chain", True, f"{plural(len(events), 'event')}, one chain, numbered without gaps")
