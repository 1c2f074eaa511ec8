"""A plan's provenance checked (provenance/verifier.py's `Verified`), as `conductor verify`
and the pre-push check show it: its text and its JSON (contract.py's Verification)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from conductor.provenance.attestation import Check, StepReport
from conductor.provenance.inherited import Inherited
from conductor.provenance.verifier import Verified
from conductor.report import plural

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


def mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"


def text(verified: Verified) -> str:
    """Each chain and branch, each step (a failed one with the checks that failed, a signed one
    with who signed it), what the plan inherits, and the verdict."""
    lines = [f"plan {verified.plan}"]
    checks = [*verified.chains, *verified.branches]
    lines += [f"  {mark(check.ok)} {check.name}: {check.detail}" for check in checks]
    for step in verified.steps:
        signed = "signed" if step.signed else "unsigned"
        lines.append(f"  {mark(step.ok)} {step.fork}/{step.step} (attempt {step.attempt}, {signed})")
        lines += [f"         {check.name}: {check.detail}" for check in step.checks if not check.ok]
        signature = next((c for c in step.checks if c.name == "signature" and c.ok), None)
        if signature is not None and step.signed:
            lines.append(f"         {signature.detail}")
    for inherited in verified.inherited:
        lines += inherited_lines(inherited)
    failed = sum(not s.ok for s in verified.steps) + sum(not c.ok for c in checks)
    failed += sum(i.failed for i in verified.inherited)
    if not verified.steps and not any(i.steps for i in verified.inherited):
        lines.append("  no accepted steps to verify")
    lines.append("verified" if verified.ok else f"{plural(failed, 'check')} failed")
    return "\n".join(lines)


def inherited_lines(inherited: Inherited) -> list[str]:
    origin = inherited.origin.label
    out = [f"  inherited by {inherited.plan} from {origin} (the commits before its first step):"]
    out += [f"  {mark(c.ok)} {c.name}: {c.detail}" for c in inherited.checks]
    for step in inherited.steps:
        signed = "signed" if step.signed else "unsigned"
        where = f"{step.plan}/{step.fork}/{step.step}"
        out.append(f"  {mark(step.ok)} {where} (attempt {step.attempt}, {signed}), inherited")
        out += [f"         {c.name}: {c.detail}" for c in step.checks if not c.ok]
    return out


def to_json(verified: Verified) -> c.Verification:
    return {
        "plan": verified.plan,
        "ok": verified.ok,
        "chains": [check_json(check) for check in verified.chains],
        "branches": [check_json(check) for check in verified.branches],
        "steps": [step_json(step) for step in verified.steps],
        "inherited": [inherited_json(inherited) for inherited in verified.inherited],
    }


def check_json(check: Check) -> c.Check:
    out: c.Check = {"check": check.name, "ok": check.ok, "detail": check.detail}
    if check.state is not None:
        out["state"] = cast("c.BranchState", check.state)
    return out


def step_json(step: StepReport) -> c.StepCheck:
    return {
        "plan": step.plan,
        "fork": step.fork,
        "step": step.step,
        "attempt": step.attempt,
        "ok": step.ok,
        "signed": step.signed,
        "checks": [check_json(check) for check in step.checks],
    }


def inherited_json(inherited: Inherited) -> c.Inherited:
    return {
        "plan": inherited.plan,
        "from": {
            "point": inherited.origin.label,
            "plan": inherited.origin.plan,
            "fork": inherited.origin.fork,
            "step": inherited.origin.step,
            "commit": inherited.origin.commit,
        },
        "ok": inherited.ok,
        "checks": [check_json(check) for check in inherited.checks],
        "steps": [step_json(step) for step in inherited.steps],
    }
