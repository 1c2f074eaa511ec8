"""`conductor verify [PLAN]`: check offline that every accepted step's task, records, statement,
commit and signature agree, and that each fork log is one unbroken chain."""

from __future__ import annotations

from conductor.errors import NotFoundError
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.provenance.attestation import Options
from conductor.provenance.verifier import VerifyReport, verify_plan
from conductor.runner.plans import ANY_STATE, latest_plan


def run(
    plan: str | None = None,
    *,
    fork: str | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    trust_config: str | None = None,
    require_signature: bool = False,
    allow_reviewer_commits: bool = False,
) -> VerifyReport:
    ledger = Ledger(find_root())
    if plan is None and not ledger.plans():
        raise NotFoundError("no plans are recorded in this repository", hint="run `conductor build` first")
    options = Options(
        identity=identity,
        issuer=issuer,
        trust_path=trust_config,
        require_signature=require_signature or bool(identity),
        allow_reviewer_commits=allow_reviewer_commits,
    )
    return verify_plan(ledger, plan or latest_plan(ledger, states=ANY_STATE), fork=fork, options=options)
