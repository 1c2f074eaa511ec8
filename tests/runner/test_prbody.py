"""The pull request body: a pure rendering of the facts gathered from the ledger."""

from __future__ import annotations

from conductor.runner.publish.prbody import PrFacts, Rejection, StepFacts, render, title

FACTS = PrFacts(
    plan="greet-1a2b",
    fork="b",
    goal="Greet people | by name",
    strategy="a module and its test",
    branch="conductor/greet-1a2b/b",
    base="4e9cc687da28aa",
    steps=[
        StepFacts(
            id="step_001",
            title="Create hello.py",
            state="completed",
            confidence=0.72,
            level="medium",
            commands=[("python -c 'import hello'", True)],
            rejections=[Rejection(1, "Verification failed", "`python -c 'import hello'` exited with 1")],
            provenance="sha256:bf2b",
            signer="ci@example.com",
            commit="963f199606b1ffff",
        ),
        StepFacts(id="step_002", title="Test hello.py", state="failed", commands=[("python t.py", False)]),
    ],
    tokens=1234,
    forks=[["fork", "status"], ["a", "failed"], ["b", "completed"]],
    recommendation="the only fork that completed",
    several_forks=True,
)


def test_the_body_has_goal_steps_rejections_provenance_comparison_and_how_to_verify() -> None:
    body = render(FACTS)
    assert body == render(FACTS)  # pure: the same facts, the same text
    assert "**Goal:** Greet people | by name" in body
    assert "**Strategy:** a module and its test" in body and "1/2 steps accepted; 1234 tokens" in body
    assert (
        "| step_001 | Create hello.py | 0.72 ⚠️ **MEDIUM** | accepted after 1 rejected |"
        " ✅ `python -c 'import hello'` |" in body
    )
    assert "| step_002 | Test hello.py | - | failed | ❌ `python t.py` |" in body
    assert "⚠️ **MEDIUM** confidence: proceed with caution." in body
    high = PrFacts(
        **{**FACTS.__dict__, "steps": [StepFacts(id="s", title="t", state="completed", level="high")]}
    )
    assert "| s | t | - (high) |" in render(high) and "proceed with caution" not in render(high)
    assert "<details><summary>Rejected attempts and repairs</summary>" in body
    assert "- step_001 attempt 1: **Verification failed**: `python -c 'import hello'` exited with 1" in body
    assert "| step_001 | `963f199606b1` | `sha256:bf2b` | ci@example.com |" in body
    assert "Recommended: `b` — the only fork that completed" in body and "| a | failed |" in body
    assert "git fetch origin 'refs/conductor/*:refs/conductor/*'" in body
    assert "conductor verify greet-1a2b --fork b" in body


def test_a_title_is_the_goal_on_one_line_and_short() -> None:
    assert title(FACTS) == "Greet people | by name"
    long = PrFacts(**{**FACTS.__dict__, "goal": "word " * 40})
    assert len(title(long)) == 72 and title(long).endswith("…")
