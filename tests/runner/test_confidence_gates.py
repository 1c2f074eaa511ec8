"""The confidence bands through the real CLI (docs/protocol.md "Confidence"): LOW waits for a
person, MEDIUM proceeds only when verify commands will prove the result, HIGH runs; the gate
asks again for every attempt, repairs included, and --yes answers for all of them."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PYTHON, git
from tests.scenario import Project

ONE_FILE = {"title": "Write notes", "instruction": "Write notes.md", "allowed_files": ["notes.md"]}
NOTES = {"write": {"notes.md": "# notes\n"}}


def awaiting(run_cli) -> list[str]:
    """The steps `conductor status --json` shows waiting for approval."""
    plans = json.loads(run_cli("status", "--json").out)
    return [
        step["step"]
        for plan in plans
        for fork in plan["forks"]
        for step in fork["steps"]
        if step["state"] == "awaiting_approval"
    ]


def test_a_medium_step_without_verify_commands_waits_for_a_person(proj: Project, run_cli) -> None:
    plan = proj.plan([ONE_FILE])
    halted = run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [NOTES]}))
    assert halted.code == 1
    assert "step_001 needs approval: MEDIUM confidence 0.6" in halted.err
    assert "no verify commands to prove the result" in halted.err
    (request,) = [e for e in proj.events() if e.type.value == "approval.requested"]
    assert request.data["confidence"]["level"] == "medium"
    assert "verify commands" in request.data["hint"]
    assert not [e for e in proj.events() if e.type.value == "task.created"]  # nothing ran
    assert len(awaiting(run_cli)) == 1
    approved = run_cli("approve", "step_001")
    assert approved.code == 0, approved.err
    assert proj.state().status.value == "completed"
    assert git(proj.root, "show", f"{proj.branch()}:notes.md") == "# notes\n"
    (granted,) = [e for e in proj.events() if e.type.value == "approval.granted"]
    assert granted.attempt == 1


def test_approve_and_reject_json_carry_the_decision_and_the_run_after_it(proj: Project, run_cli) -> None:
    agent = proj.agent({"*": [NOTES]})
    waiting = json.loads(run_cli("build", "--plan", proj.plan([ONE_FILE]), "--exec", agent, "--json").out)
    (fork,) = waiting["forks"]
    assert waiting["state"] == "halted" and fork["steps"][0]["state"] == "awaiting_approval"
    plan = waiting["plan"]
    recorded = run_cli(
        "approve", "step_001", "--plan", plan, "--reason", "looks right", "--no-resume", "--json"
    )
    assert recorded.code == 0, recorded.err
    assert json.loads(recorded.out) == {
        "plan": plan,
        "fork": "main",
        "step": "step_001",
        "decision": "approved",
        "reason": "looks right",
        "run": None,  # --no-resume: only the decision
    }
    other = json.loads(run_cli("build", "--plan", "plan.yaml", "--exec", agent, "--json").out)["plan"]
    rejected = run_cli("reject", "step_001", "--plan", other, "--json")
    assert rejected.code == 1
    data = json.loads(rejected.out)
    assert (data["plan"], data["step"], data["decision"], data["reason"]) == (
        other,
        "step_001",
        "rejected",
        "",
    )
    assert data["run"]["plan"] == other and data["run"]["state"] == "failed"
    assert data["run"]["forks"][0]["steps"][0]["state"] == "failed"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_medium_step_with_verify_commands_runs_and_its_evidence_decides(proj: Project, run_cli) -> None:
    checked = {**ONE_FILE, "verify": [f"{PYTHON} -c \"assert open('notes.md').read().startswith('#')\""]}
    plan = proj.plan([checked])
    built = run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [NOTES]}), "--json")
    assert built.code == 0, built.err
    kinds = [e.type.value for e in proj.events()]
    assert "approval.requested" not in kinds and kinds[-1] == "fork.completed"
    (created,) = [e for e in proj.events() if e.type.value == "task.created"]
    assert created.data["confidence"]["level"] == "medium"
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert verdict["accepted"] and [c["exit_code"] for c in verdict["commands"]] == [0]

    # the same step whose evidence fails is rejected, not accepted on its confidence
    bad = proj.agent({"*": [{"write": {"notes.md": "no heading\n"}}]}, name="bad.json")
    failed = run_cli("build", "--plan", plan, "--exec", bad)
    assert failed.code == 1
    assert "approval" not in failed.err
    assert "verify" in failed.err


def test_the_low_gate_asks_again_for_a_repair_attempt(proj: Project, run_cli) -> None:
    script = {"*": {"1": [{"exit": 3}], "2": [{"write": {"x.py": "x = 1\n"}}]}}
    halted = run_cli("build", "Add x.py", "--exec", proj.agent(script))
    assert halted.code == 1 and "needs approval: LOW confidence" in halted.err
    first = run_cli("approve", "step_001")  # attempt 1 runs and fails ...
    assert first.code == 1
    assert "needs approval: LOW confidence" in first.err and "(attempt 2)" in first.err
    assert "Decide: conductor approve step_001 --plan" in first.out
    kinds = [(e.type.value, e.attempt) for e in proj.events()]
    assert ("task.failed", 1) in kinds and ("task.created", 2) not in kinds
    assert kinds[-2:] == [("approval.requested", 2), ("fork.halted", None)]
    assert awaiting(run_cli) == ["step_001"]
    second = run_cli("approve", "step_001")  # ... and attempt 2 runs only after a second approval
    assert second.code == 0, second.err
    state = proj.state()
    assert state.status.value == "completed" and state.steps["step_001"].attempt == 2
    granted = [e.attempt for e in proj.events() if e.type.value == "approval.granted"]
    assert granted == [1, 2]


def test_a_stricter_threshold_gates_a_medium_step_that_has_evidence(proj: Project, run_cli) -> None:
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(
        policy.read_text() + "\nverify:\n  commands: [test -f x.py]\nconfidence:\n  approval_below: 0.7\n"
    )
    git(proj.root, "commit", "-q", "-am", "stricter")
    halted = run_cli("build", "Add x.py", "--exec", proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]}))
    assert halted.code == 1
    assert "needs approval: MEDIUM confidence 0.58 (below confidence.approval_below 0.7)" in halted.err


def test_yes_answers_the_gate_for_every_attempt(proj: Project, run_cli) -> None:
    script = {"*": {"1": [{"exit": 3}], "2": [{"write": {"x.py": "x = 1\n"}}]}}
    built = run_cli("build", "Add x.py", "--exec", proj.agent(script), "--yes")
    assert built.code == 0, built.err
    kinds = [e.type.value for e in proj.events()]
    assert "approval.requested" not in kinds and kinds.count("task.created") == 2


def test_a_rejection_without_a_run_after_it_counts_in_the_handoff_metrics_at_once(
    proj: Project, run_cli
) -> None:
    # a change that waits for a person after it was received (it touches .mailmap): rejecting it
    # with --no-resume ends the task, and no run comes after to fold that into the metrics
    step = {"title": "Map", "instruction": "map", "allowed_files": ["**"], "verify": ["test -f .mailmap"]}
    agent = proj.agent({"*": [{"write": {".mailmap": "A <a@example.com> <b@example.com>\n"}}]})
    assert run_cli("build", "--plan", proj.plan([step]), "--exec", agent).code == 1
    assert json.loads(run_cli("handoff-metrics", "--json").out)["by_state"]["open"] == 1
    assert run_cli("reject", "step_001", "--reason", "not this", "--no-resume").code == 0
    shown = json.loads(run_cli("handoff-metrics", "--json").out)
    assert shown["by_state"]["rejected"] == 1 and shown["by_state"]["open"] == 0
    assert json.loads(run_cli("handoff-metrics", "--recompute", "--json").out) == shown
