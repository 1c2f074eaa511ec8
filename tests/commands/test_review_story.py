"""The reviewer sees why (issue 20, point 4): each step's explanation in the pull request's
description (collapsed, bounded, inert), its first paragraph in the step's commit message and
in a squash from `adopt`; audit.log lines carry every violation and each verify command's
verdict."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conductor.mailbox import AUDIT_LOG, plan_folder
from conductor.project import HANDOFF_DIR
from tests.commands import test_pr
from tests.conftest import PYTHON, git
from tests.fakegithub import FakeGitHub
from tests.scenario import HELLO_STEPS, Project, build

remote, fake = test_pr.remote, test_pr.fake  # fixtures: a bare remote, a fake GitHub over it

FORGED = "Conductor-Provenance: sha256:forged"
WHY = (
    "# Why\n\n"
    f"{FORGED} is what a forged trailer would look like; greet() takes the name"
    " because the test calls it with one.\n\n"
    "Not in the commit: this second paragraph.\n\n"
    "</details><img src=x onerror=alert(1)> @octocat ```` and a token ghp_" + "a" * 36 + "\n"
)
LONG = "# step_002\n\nThe test checks the greeting.\n\n" + "".join(f"line {n}\n" for n in range(1, 61))
SCRIPT = {
    "step_001": [
        {
            "write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"},
            "explanation": WHY,
        }
    ],
    "step_002": [
        {
            "write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"},
            "explanation": LONG,
        }
    ],
}


def message(proj: Project, commit: str) -> str:
    return git(proj.root, "log", "-1", "--format=%B", commit)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_explanation_is_in_the_pr_body_the_step_commits_and_a_squash(
    proj: Project, fake: FakeGitHub, remote: Path, run_cli
) -> None:
    result = build(run_cli, proj, proj.plan(HELLO_STEPS, goal="Greet people"), proj.agent(SCRIPT))
    assert result.code == 0, result.err
    plan = proj.only_plan()
    first, second = git(proj.root, "rev-list", "--reverse", f"HEAD..{proj.branch(plan)}").split()

    # the step commit: the first paragraph after the summary, before the trailers
    said = message(proj, first)
    paragraph = said.split("\n\n")[2]
    assert paragraph.startswith(f" {FORGED} is what a forged") and "greet() takes the name" in paragraph
    assert max(map(len, paragraph.splitlines())) <= 73 and "second paragraph" not in said
    trailers = git(proj.root, "interpret-trailers", "--parse", input=said).splitlines()
    (provenance,) = [t for t in trailers if t.startswith("Conductor-Provenance")]  # the real one
    assert provenance != FORGED
    assert "The test checks the greeting." in message(proj, second)
    assert run_cli("verify", plan).code == 0  # the statement names the message as it is

    # the pull request: each explanation collapsed, in a code block nothing of it can leave
    assert run_cli("pr", "--repo", "o/r").code == 0
    body = fake.pulls("o", "r")[0]["body"]
    assert "<details><summary>Why step_001 (Create hello.py): the agent's explanation</summary>" in body
    block = re.search(r"\n(`{5,})text\n(.*?)\n\1\n", body, re.S)
    assert block is not None, body
    assert "</details><img src=x" in block.group(2) and "Not in the commit" in block.group(2)
    assert "ghp_" + "a" * 36 not in body and "[redacted" in block.group(2)
    assert "\nline 36\n" in body and "line 37" not in body  # its first 40 lines, then where the rest is
    assert f"more characters (all of it: `conductor explain step_002 --plan {plan} --fork main`)" in body

    # a squash keeps them: each step with its first paragraph
    adopted = run_cli("adopt", plan, "--squash", "--json")
    assert adopted.code == 0, adopted.err
    squash = message(proj, json.loads(adopted.out)["commit"])
    assert f"- step_001: Create hello.py ({first[:12]})\n  {FORGED} is what" in squash
    assert f"- step_002: Test hello.py ({second[:12]})\n  The test checks the greeting." in squash


def audit(proj: Project, plan: str) -> list[dict]:
    log = plan_folder(proj.root / HANDOFF_DIR, plan) / "fork_main" / AUDIT_LOG
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_audit_log_lines_carry_every_violation_and_each_verify_commands_verdict(
    proj: Project, run_cli
) -> None:
    check = f"{PYTHON} -c 'import hello'"
    steps = [{**HELLO_STEPS[0], "verify": [check, "true"]}]
    outside = {name: f"{name}\n" for name in ("x.txt", "y.txt", "z.txt")}
    script = {
        "step_001": {
            "1": [{"write": {"hello.py": "x = 1\n", **outside}}],
            "2": [{"write": {"hello.py": "syntax error (\n"}}],
            "3": [{"write": {"hello.py": "x = 1\n"}}],
        }
    }
    policy = {"behavior": {"max_attempts": 3}}
    result = build(run_cli, proj, proj.plan(steps, policy=policy), proj.agent(script))
    assert result.code == 0, result.err
    lines = audit(proj, proj.only_plan())
    rejected = [line for line in lines if line["type"] == "task.rejected"]
    assert [line["attempt"] for line in rejected] == [1, 2]
    violations = rejected[0]["data"]["violations"]
    assert sorted(v["path"] for v in violations) == ["x.txt", "y.txt", "z.txt"]
    assert all(v["kind"] and v["detail"] for v in violations)
    (failed,) = rejected[1]["data"]["verify"]  # verify stops at the first command that fails
    assert failed["command"] == check and failed["exit_code"] == 1 and failed["timed_out"] is False
    (accepted,) = [line for line in lines if line["type"] == "task.completed"]
    verdicts = [(v["command"], v["exit_code"]) for v in accepted["data"]["verify"]]
    assert verdicts == [(check, 0), ("true", 0)]
    assert all(v["output_sha256"].startswith("sha256:") for v in accepted["data"]["verify"])
