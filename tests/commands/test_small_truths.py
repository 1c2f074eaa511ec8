"""Small truths a user reads (issue 12, point 11): what `verify` checks without a plan, step
numbers kept by `fork --from`, `clean` after `checkout`, the timeout as configured, plurals."""

from __future__ import annotations

from tests.scenario import HELLO_STEPS, Project, build

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}


def test_the_timeout_shown_is_the_one_configured(proj: Project, run_cli) -> None:
    steps = [{**HELLO_STEPS[0], "timeout_seconds": 300}]
    result = build(run_cli, proj, proj.plan(steps), proj.agent({"step_001": [HELLO]}))
    assert result.code == 0, result.err
    assert "(timeout 300s)" in result.err, result.err
    assert "timeout 299s" not in result.err
