"""Small truths a user reads (issue 12, point 11): what `verify` checks without a plan, step
numbers kept by `fork --from`, `clean` after `checkout`, the timeout as configured, plurals."""

from __future__ import annotations

import json

from tests.scenario import HELLO_STEPS, Project, build

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}


def test_the_timeout_shown_is_the_one_configured(proj: Project, run_cli) -> None:
    steps = [{**HELLO_STEPS[0], "timeout_seconds": 300}]
    result = build(run_cli, proj, proj.plan(steps), proj.agent({"step_001": [HELLO]}))
    assert result.code == 0, result.err
    assert "(timeout 300s)" in result.err, result.err
    assert "timeout 299s" not in result.err


def test_one_of_a_thing_is_not_plural(proj: Project, run_cli) -> None:
    steps = [
        {"title": "Write a.txt", "instruction": "one line", "allowed_files": ["a.txt"], "verify": ["true"]}
    ]
    result = build(run_cli, proj, proj.plan(steps), proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}]}))
    assert result.code == 0, result.err
    assert "(1 line, " in result.err and "1 lines" not in result.err
    assert "fork main: 1 step, branch" in result.err and "step(s)" not in result.err
    compared = run_cli("compare")
    assert "1 line" in compared.out and "1 lines" not in compared.out
    plan = proj.only_plan()
    events = run_cli("events", "--plan", plan).out
    assert "all 1 step completed" in events and "all 1 steps" not in events
    assert "verified" in run_cli("verify", plan).out
    chain = json.loads(run_cli("verify", plan, "--json").out)["chains"][0]["detail"]
    assert chain.endswith("events, one chain, numbered without gaps")
    cleaned = run_cli("clean", plan)
    assert cleaned.code == 0 and "path(s)" not in cleaned.out
