"""`conductor verify [PLAN]`: check offline that every accepted step's task, records, statement,
commit and signature agree, and that each fork log is one unbroken chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conductor.commands.build import latest_plan
from conductor.errors import NotFoundError
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.provenance.verifier import Check, Options, StepReport, verify_fork

ANY_STATE = ("running", "halted", "completed", "failed")


@dataclass
class VerifyResult:
    plan: str
    chains: list[Check] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.chains) and all(s.ok for s in self.steps)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "ok": self.ok,
            "chains": [c.to_json() for c in self.chains],
            "steps": [s.to_json() for s in self.steps],
        }


def verify(
    plan: str | None = None,
    *,
    fork: str | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    trust_config: str | None = None,
    require_signature: bool = False,
) -> VerifyResult:
    ledger = Ledger(find_root())
    if plan is None and not ledger.plans():
        raise NotFoundError("no plans are recorded in this repository", hint="run `conductor build` first")
    plan_id = plan or latest_plan(ledger, states=ANY_STATE)
    forks = ledger.forks(plan_id)
    if not forks:
        raise NotFoundError(f"no plan {plan_id} is recorded", hint="`conductor status` lists the plans")
    if fork is not None and fork not in forks:
        raise NotFoundError(f"plan {plan_id} has no fork {fork}", hint=f"its forks: {', '.join(forks)}")
    options = Options(
        identity=identity,
        issuer=issuer,
        trust_path=trust_config,
        require_signature=require_signature or bool(identity),
    )
    result = VerifyResult(plan_id)
    for fork_id in [fork] if fork else forks:
        check, steps = verify_fork(ledger, plan_id, fork_id, options)
        result.chains.append(check)
        result.steps += steps
    return result


def render(result: VerifyResult) -> str:
    lines = [f"plan {result.plan}"]
    for check in result.chains:
        lines.append(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    for step in result.steps:
        mark = "ok  " if step.ok else "FAIL"
        signed = "signed" if step.signed else "unsigned"
        lines.append(f"  {mark} {step.fork}/{step.step} (attempt {step.attempt}, {signed})")
        for check in step.checks:
            if not check.ok:
                lines.append(f"         {check.name}: {check.detail}")
        signature = next((c for c in step.checks if c.name == "signature" and c.ok), None)
        if signature is not None and step.signed:
            lines.append(f"         {signature.detail}")
    failed = sum(not s.ok for s in result.steps) + sum(not c.ok for c in result.chains)
    if not result.steps:
        lines.append("  no accepted steps to verify")
    lines.append("verified" if result.ok else f"{failed} check(s) failed")
    return "\n".join(lines)
