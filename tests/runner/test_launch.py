"""How a new plan starts, through the CLI: who does the steps (never a silent wait for nobody),
which commit it starts from (`--base REF`, else HEAD), and what of the user's checkout it
does not see."""

from __future__ import annotations

import json

from tests.conftest import git
from tests.scenario import Project, build

STEPS = [{"title": "Write x.txt", "instruction": "Write x.txt", "allowed_files": ["x.txt"]}]
WRITE_X = {"*": [{"write": {"x.txt": "x\n"}}]}


def nothing_recorded(proj: Project) -> bool:
    refs = git(proj.root, "for-each-ref", "--format=%(refname)", "refs/conductor/", "refs/heads/conductor/")
    return proj.ledger().plans() == [] and refs == ""


def test_no_model_and_no_executor_is_an_error_that_lists_the_three_ways(proj: Project, run_cli) -> None:
    plan = proj.plan(STEPS)
    for args in (
        ("build", "Add x.txt"),
        ("build", "--plan", plan, "--yes"),
        ("explore", "Add x.txt", "--strategy", "one way", "--strategy", "another"),
    ):
        result = run_cli(*args)
        assert result.code == 1, args
        assert "error: no model is configured and no executor was given" in result.err
        hint = result.err.split("hint:", 1)[1]
        assert "GEMINI_API_KEY" in hint and "--llm openai --base-url" in hint
        assert '--exec "CMD"' in hint and "--executor handoff" in hint
        assert "waiting" not in result.err and result.out == ""
        assert nothing_recorded(proj)


def test_a_fork_without_an_executor_is_the_same_error(proj: Project, run_cli) -> None:
    first = build(run_cli, proj, proj.plan(STEPS), proj.agent(WRITE_X), "--json")
    assert first.code == 0, first.err
    old = json.loads(first.out)["plan"]
    result = run_cli("fork", "--from", f"{old}/main@base")
    assert result.code == 1 and "no executor was given" in result.err and "--executor handoff" in result.err
    assert proj.ledger().plans() == [old]
