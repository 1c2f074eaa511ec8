"""`conductor explain`, `handoff-metrics` and `clean` over real runs."""

from __future__ import annotations

import json

import pytest

from tests.conftest import git
from tests.scenario import Project, build

STEPS = [
    {
        "title": "Create hello.py",
        "instruction": "Create hello.py",
        "allowed_files": ["hello.py"],
        "verify": ["test -f hello.py"],
    },
    {"title": "Test hello.py", "instruction": "Add test_hello.py", "allowed_files": ["test_hello.py"]},
]
SCRIPT = {
    "step_001": [
        {"write": {"hello.py": "x = 1\n"}},
        {"result": {"tokens": {"input": 10, "output": 5}, "cost": 0.5}},
    ],
    "step_002": {
        "1": [{"write": {"test_hello.py": "y\n", "a.lock": "z\n"}}],
        "*": [{"write": {"test_hello.py": "y\n"}}],
    },
}


def run_two_steps(proj: Project, run_cli) -> str:
    plan = proj.plan(STEPS, policy={"behavior": {"max_diff_lines": 50}})
    assert build(run_cli, proj, plan, proj.agent(SCRIPT)).code == 0
    return proj.only_plan()


def test_explain_shows_instruction_confidence_policy_verdicts_and_commits(proj: Project, run_cli) -> None:
    plan = run_two_steps(proj, run_cli)
    text = run_cli("explain", "step_002").out
    assert text.startswith(f"step_002 of {plan}/main: Test hello.py  [completed]")
    assert "Instruction:\n  Add test_hello.py" in text
    assert "history" in text and "scope" in text and "evidence" in text and "size" in text
    assert (
        "REJECTED: Constraint violation (Touches a protected file): a.lock: added: protected by '*.lock'"
        in text
    )
    assert "recovery: Fix task scope" in text
    assert "evidence/step_002/attempt_1/rejected.patch" in text
    assert "ACCEPTED" in text and "commit: " in text
    line = next(
        i
        for i, text_line in enumerate((proj.root / "plan.yaml").read_text().splitlines(), 1)
        if "max_diff_lines" in text_line
    )
    assert f"behavior.max_diff_lines: 50  (plan.yaml:{line})" in text
    assert "behavior.timeout_seconds: 300  (.conductor/policy.yaml:37)" in text
    data = json.loads(run_cli("explain", "step_002", "--plan", plan, "--json").out)
    assert [a["attempt"] for a in data["attempts"]] == [1, 2]
    assert data["attempts"][0]["verdict"]["kind"] == "protected_file"
    commit = data["attempts"][1]["commit"]
    assert git(proj.root, "rev-parse", proj.branch()).strip() == commit
    assert data["policy"]["values"]["behavior.max_diff_lines"] == {"value": 50, "origin": f"plan.yaml:{line}"}
    first = json.loads(run_cli("explain", "step_001", "--json").out)
    assert first["attempts"][0]["verdict"]["commands"][0]["command"] == "test -f hello.py"
    assert "verify `test -f hello.py`: exit 0" in run_cli("explain", "step_001").out
    missing = run_cli("explain", "step_009")
    assert missing.code == 1 and "no step_009 recorded" in missing.err


def test_handoff_metrics_text_and_json(proj: Project, run_cli) -> None:
    plan = run_two_steps(proj, run_cli)
    data = json.loads(run_cli("handoff-metrics", "--json").out)
    assert data["tasks"] == 3
    assert data["by_state"] == {
        "completed": 2,
        "rejected": 1,
        "failed": 0,
        "timed_out": 0,
        "abandoned": 0,
        "open": 0,
    }
    assert data["success_rate"] == 0.667
    assert data["violations"] == {"protected_file": 1} and data["repairs"] == 1
    assert (
        data["duration_seconds"]["mean"] > 0
        and data["duration_seconds"]["p95"] >= data["duration_seconds"]["mean"]
    )
    assert data["tokens"] == {"input": 10, "output": 5} and data["cost_usd"] == 0.5
    text = run_cli("handoff-metrics").out
    assert "success rate:       67%" in text and "1 protected_file" in text and "cost $0.5000" in text
    assert json.loads(run_cli("handoff-metrics", "--plan", plan, "--json").out)["tasks"] == 3
    assert json.loads(run_cli("handoff-metrics", "--plan", "other", "--json").out)["tasks"] == 0
    mailbox = json.loads((proj.root / ".conductor" / "handoff" / "metrics.json").read_text())
    assert mailbox == data  # the file says what --json says, in its words (by_state, not by_status)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_clean_removes_worktrees_and_mailboxes_of_finished_plans_only(proj: Project, run_cli) -> None:
    plan = run_two_steps(proj, run_cli)
    halted_cmd = proj.agent({"*": [{"write": {"x.py": "x\n"}}]})
    assert run_cli("build", "Add x.py", "--exec", halted_cmd).code == 1  # halts: LOW confidence
    halted = next(p for p in proj.ledger().plans() if p != plan)
    assert proj.worktree(plan).exists()
    refused = run_cli("clean", halted)
    assert refused.code == 1 and "not finished" in refused.err
    cleaned = json.loads(run_cli("clean", "--json").out)
    assert [c["plan"] for c in cleaned] == [plan]
    assert not proj.worktree(plan).exists()
    assert not (proj.root / ".conductor" / "handoff" / f"plan_{plan}").exists()
    assert proj.worktree(halted).exists()
    # the history stays
    assert git(proj.root, "rev-parse", "--verify", proj.branch(plan))
    assert "Test hello.py" in run_cli("explain", "step_002", "--plan", plan).out
    assert git(proj.root, "worktree", "list").count("\n") == 2  # main checkout + the halted plan
    assert run_cli("clean").out.strip() == "Nothing to clean."
