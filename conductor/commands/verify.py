"""`conductor verify [PLAN]`: check offline that every accepted step's task, records, statement,
commit and signature agree, and that each fork log is one unbroken chain — of one plan, or,
without PLAN, of every plan recorded (newest first, a summary per plan and one at the end)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conductor.commands.output import verification
from conductor.errors import ConductorError, NotFoundError
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.provenance.attestation import Check, Options
from conductor.provenance.verifier import Verified, verify_plan
from conductor.report import Report, plural
from conductor.runner.logs.plans import load_plan

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class Verification(Report):
    """The report of the plan asked for (`one`), or each plan's, newest first."""

    reports: list[Verified] = field(default_factory=list)
    one: bool = False  # a plan was named: its report, as it is

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> c.Verification | c.Verifications:
        if self.one:
            return verification.to_json(self.reports[0])
        return {"ok": self.ok, "plans": [verification.to_json(r) for r in self.reports]}

    def render(self) -> str:
        if self.one:
            return verification.text(self.reports[0])
        parts = [verification.text(r) for r in self.reports]
        failed = [r.plan for r in self.reports if not r.ok]
        if len(self.reports) > 1:
            total = len(self.reports)
            summary = (
                f"{len(failed)} of {plural(total, 'plan')} failed: {', '.join(failed)}"
                if failed
                else f"all {plural(total, 'plan')} verified"
            )
            parts.append(summary)
        return "\n\n".join(parts)


def run(
    plan: str | None = None,
    *,
    fork: str | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    trust_config: str | None = None,
    require_signature: bool = False,
    allow_reviewer_commits: bool = False,
) -> Verification:
    ledger = Ledger(find_root())
    options = Options(
        identity=identity,
        issuer=issuer,
        trust_path=trust_config,
        require_signature=require_signature or bool(identity),
        allow_reviewer_commits=allow_reviewer_commits,
    )
    if plan is not None:
        return Verification([verify_plan(ledger, plan, fork=fork, options=options)], one=True)
    plans = ledger.plans()
    if not plans:
        raise NotFoundError("no plans are recorded in this repository", hint="run `conductor build` first")
    newest_first = sorted(plans, key=lambda p: _created(ledger, p), reverse=True)
    return Verification([_verify(ledger, p, options) for p in newest_first])


def _created(ledger: Ledger, plan: str) -> str:
    """When the plan was created ("" when its record cannot be read: it goes last)."""
    try:
        return load_plan(ledger, plan).created
    except ConductorError:
        return ""


def _verify(ledger: Ledger, plan: str, options: Options) -> Verified:
    try:
        return verify_plan(ledger, plan, options=options)
    except NotFoundError as exc:  # a plan log without a fork log: nothing of it verifies
        return Verified(plan, chains=[Check("forks", False, exc.message)])
