"""Review comments become the next step of a finished fork, on the same branch, attested like
the others (`conductor revise`)."""

from __future__ import annotations

import json

import pytest

from conductor.models.event import EventType
from tests.conftest import git
from tests.scenario import HELLO_STEPS, Project, build

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}
FIXED = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name.strip()}!'\n"}}


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_comments_become_an_accepted_step_on_the_same_branch_and_verify(proj: Project, run_cli) -> None:
    command = proj.agent({"step_001": [HELLO], "step_002": [TEST], "step_003": [FIXED]})
    assert build(run_cli, proj, proj.plan(HELLO_STEPS), command).code == 0
    plan, branch = proj.only_plan(), proj.branch()
    before = git(proj.root, "rev-parse", branch).strip()
    revised = run_cli(
        "revise",
        f"{plan}/main",
        "--comment",
        "hello.py:2: strip the name before greeting",
        "--comment",
        "keep the tests passing",
        "--yes",
        "--json",
    )
    assert revised.code == 0, revised.err
    assert json.loads(revised.out)["state"] == "completed"
    # the new commit is on the same branch, on top of the accepted steps
    assert git(proj.root, "rev-parse", f"{branch}~1").strip() == before
    assert "name.strip()" in git(proj.root, "show", f"{branch}:hello.py")
    task = json.loads(proj.record("completed/step_003.task.json"))
    assert "[hello.py:2] strip the name before greeting" in task["instruction"]
    assert "[general] keep the tests passing" in task["instruction"]
    assert "hello.py" in task["allowed_files"]
    types = [e.type for e in proj.events()]
    assert EventType.FORK_RESUMED in types and types[-1] is EventType.FORK_COMPLETED
    verified = run_cli("verify", plan)
    assert verified.code == 0, verified.out + verified.err


def test_only_a_finished_fork_with_comments_can_be_revised(proj: Project, run_cli) -> None:
    command = proj.agent({"step_001": [HELLO], "step_002": [TEST]})
    assert build(run_cli, proj, proj.plan(HELLO_STEPS), command).code == 0
    plan = proj.only_plan()
    unknown = run_cli("revise", f"{plan}/nope", "--comment", "x")
    assert unknown.code == 1 and "has no fork 'nope'" in unknown.err
    no_fork = run_cli("revise", plan, "--comment", "x")
    assert no_fork.code == 1 and "names no fork" in no_fork.err
    blank = run_cli("revise", f"{plan}/main", "--comment", "  ")
    assert blank.code == 1 and "no review comments" in blank.err
    assert [e.type for e in proj.events()][-1] is EventType.FORK_COMPLETED  # nothing recorded
