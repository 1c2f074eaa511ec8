"""Verification and review cannot be gamed unnoticed (issue 19, point 10): a change to test
configuration, a module shadowing a test tool, a CI definition or git's own attributes waits for
a person, who sees the paths and accepts the change as it is or rejects it; and pinned tests run
as they were at the plan's base, so rewriting a test cannot make broken code pass."""

from __future__ import annotations

import pytest

from conductor.models.event import EventType
from tests.conftest import PYTHON, git
from tests.scenario import Project

CALC = "def add(a, b):\n    return a + b\n"
BROKEN = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
# turns every failure into a pass
CHEAT = (
    "import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
    "    outcome = yield\n    report = outcome.get_result()\n    report.outcome = 'passed'\n"
)
# without the plugins our own tests install (hypothesis, xdist, anyio), which would double the time
# each verify run takes to start
PLUGINS = "-p no:cacheprovider -p no:hypothesispytest -p no:xdist -p no:anyio"
VERIFY = f"{PYTHON} -m pytest -q {PLUGINS} test_calc.py"


@pytest.fixture
def calc(proj: Project) -> Project:
    (proj.root / "calc.py").write_text(CALC)
    (proj.root / "test_calc.py").write_text(TEST)
    git(proj.root, "add", "calc.py", "test_calc.py")
    git(proj.root, "commit", "-qm", "calc and its test")
    return proj


def step() -> dict[str, object]:
    return {"title": "Change calc", "instruction": "Change calc", "allowed_files": ["**"], "verify": [VERIFY]}


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("conftest.py", CHEAT),
        ("pytest.ini", "[pytest]\naddopts = --collect-only\n"),
        ("pytest.py", "import sys\nsys.exit(0)\n"),
        (".github/workflows/x.yml", "on: push\n"),
        (".gitmodules", '[submodule "x"]\n\tpath = x\n\turl = ext::sh -c touch% /tmp/pwned\n'),
        (".gitattributes", "* filter=pwn\n"),
        (".mailmap", "Evil <evil@example.com> <test@example.com>\n"),
    ],
)
def test_a_change_that_could_fake_the_evidence_waits_for_a_person(
    calc: Project, run_cli, path: str, content: str
) -> None:
    plan = calc.plan([step()])
    rigs_the_tests = path in ("conftest.py", "pytest.ini", "pytest.py")  # broken code, passing tests
    files = {"calc.py": BROKEN, path: content} if rigs_the_tests else {path: content}
    agent = calc.agent({"*": [{"write": files}]})

    halted = run_cli("build", "--plan", plan, "--exec", agent)  # without --yes

    assert halted.code == 1
    assert f"needs a person: its change touches {path}" in halted.err, halted.err
    assert "Decide: conductor approve step_001" in halted.out
    (request,) = [e for e in calc.events() if e.type is EventType.APPROVAL_REQUESTED]
    assert path in request.data["review"]
    assert not [e for e in calc.events() if e.type is EventType.TASK_COMPLETED]
    assert calc.state().status.value == "halted"

    rejected = run_cli("reject", "step_001", "--reason", "it rigs the tests")
    assert rejected.code == 1 and calc.state().status.value == "failed"
    assert git(calc.root, "show", f"{calc.branch()}:calc.py") == CALC  # nothing of it was accepted


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_person_who_approves_the_change_accepts_it_as_it_is(calc: Project, run_cli) -> None:
    plan = calc.plan([step()])
    tox = "[tox]\nenvlist = py311\n"
    agent = calc.agent({"*": [{"write": {"tox.ini": tox}}]})
    assert run_cli("build", "--plan", plan, "--exec", agent).code == 1
    approved = run_cli("approve", "step_001")
    assert approved.code == 0, approved.err
    assert git(calc.root, "show", f"{calc.branch()}:tox.ini") == tox
    created = [e for e in calc.events() if e.type is EventType.TASK_CREATED]
    assert len(created) == 1  # the agent was not asked again: its change was accepted as it was


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_pinned_tests_run_as_they_were_so_a_rewritten_test_cannot_pass_broken_code(
    calc: Project, run_cli
) -> None:
    policy = calc.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nverify:\n  pinned: ['test_*.py']\n")
    git(calc.root, "commit", "-qam", "pin the tests")
    rewritten = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == -1\n"
    plan = calc.plan([{**step(), "allowed_files": ["calc.py", "test_calc.py", "test_new.py"]}])
    new_test = "from calc import add\n\n\ndef test_new():\n    assert add(1, 1) == 0\n"
    cheat = calc.agent(
        {"*": [{"write": {"calc.py": BROKEN, "test_calc.py": rewritten, "test_new.py": new_test}}]}
    )

    result = run_cli("build", "--plan", plan, "--exec", cheat, "--yes")

    assert result.code == 1  # the test as it was at the base fails the broken code
    assert "verify runs with test_calc.py as at the plan's base (verify.pinned)" in result.err
    assert not [e for e in calc.events() if e.type is EventType.TASK_COMPLETED]
    honest = calc.agent(
        {
            "*": [
                {
                    "write": {
                        "calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
                        "test_new.py": new_test.replace("add(1, 1) == 0", "add(1, 1) == 2"),
                    }
                }
            ]
        },
        name="honest.json",
    )
    again = run_cli(
        "build",
        "--plan",
        calc.plan([{**step(), "allowed_files": ["calc.py", "test_new.py"]}], name="p2.yaml"),
        "--exec",
        honest,
        "--yes",
    )
    assert again.code == 0, again.err  # new test files run as written
