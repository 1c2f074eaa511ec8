"""Smaller truths of the records a user reads (issue 20, point 7): where the mailbox keeps a
refused result's problems, which lessons a task carries, what `revise` says it did, and the
timeout `explain` shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conductor.models.event import EventType
from tests.conftest import ROOT, git, wait_until
from tests.runner.test_handoff import QUICK, STEP, claim, fork_dir, pending, report, start
from tests.scenario import TWO_FORKS, Project, build

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
OTHER = {"write": {"other.py": "x = 1\n"}}


def tree_folders(name: str) -> set[str]:
    """The mailbox folders docs/protocol.md's tree puts `name` in (the nearest folder entry
    above its line: `├── failed/…` or `├── {completed,failed}/…`)."""
    section = (ROOT / "docs" / "protocol.md").read_text().split("## The mailbox", 1)[1]
    lines = section.split("```", 2)[1].splitlines()
    at = next(i for i, line in enumerate(lines) if name in line)
    for line in reversed(lines[: at + 1]):
        entry = re.search(r"[├└]── (\{[\w,]+\}|\w+)/", line)
        if entry:
            return set(entry.group(1).strip("{}").split(","))
    raise AssertionError(f"no folder above {name} in the tree")


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_refused_results_problems_land_beside_it_where_the_protocol_tree_says(proj: Project) -> None:
    proc = start(
        proj, "build", "--plan", proj.plan([STEP]), "--executor", "handoff", "--yes", constants=QUICK
    )
    task = pending(proj)
    claim(proj)
    (Path(task["workspace"]) / "hello.py").write_text("print('hello')\n")
    landed = set()
    for folder in ("completed", "failed"):
        (fork_dir(proj) / folder / "step_001.result.json").write_text("{not json")
        problems = fork_dir(proj) / folder / "step_001.result.problems.txt"
        wait_until(problems.exists, what=f"the problems file in {folder}/")
        assert f"kept as {folder}/step_001.result.json.rejected-1" in problems.read_text()
        landed.add(folder)
    assert landed <= tree_folders("step_NNN.result.problems.txt")
    assert landed <= tree_folders("step_NNN.result.json.rejected-N")
    report(proj, task)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def carried(proj: Project, plan: str) -> list[str]:
    """The lessons the task of a plan's step_001 carried (its last attempt)."""
    return list(json.loads(proj.record("completed/step_001.task.json", plan))["context"]["lessons"])


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_task_carries_lessons_of_steps_on_its_own_files_not_of_every_python_file(
    proj: Project, run_cli
) -> None:
    def run(title: str, path: str, script: dict[str, object]) -> str:
        steps = [{"title": title, "instruction": title, "allowed_files": [path]}]
        result = build(run_cli, proj, proj.plan(steps, name=f"{path}.yaml"), proj.agent(script), "--json")
        assert result.code == 0, result.err
        return str(json.loads(result.out)["plan"])

    # a step on other.py goes outside its files once, then succeeds: two lessons on record
    first = run(
        "Write other.py", "other.py", {"step_001": {"1": [{"write": {"stray.py": "x\n"}}], "2": [OTHER]}}
    )
    taught = carried(proj, first)  # its own failed attempt taught the repair
    assert len(taught) == 1 and "'Write other.py' (step_001, attempt 1) failed" in taught[0]
    # hello.py shares only the shape `./*.py` with it: an unrelated plan learns nothing from it
    unrelated = run("Write hello.py", "hello.py", {"step_001": [HELLO]})
    assert carried(proj, unrelated) == []
    # a later step on other.py learns from both attempts, and nothing from hello.py's
    related = run("Rewrite other.py", "other.py", {"step_001": [OTHER]})
    lessons = carried(proj, related)
    assert len(lessons) == 2 and all("'Write other.py'" in text for text in lessons), lessons


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_revise_names_the_revised_fork_and_says_what_reopened_it(proj: Project, run_cli) -> None:
    (proj.root / "forks.yaml").write_text(yaml.safe_dump(TWO_FORKS, sort_keys=False))
    git(proj.root, "add", "forks.yaml")
    git(proj.root, "commit", "-q", "-m", "forks")
    script = {
        "step_001": [{"write": {"notes.md": "notes\n"}}],
        "step_002": [{"write": {"more.md": "more\n"}}],
    }
    explored = run_cli("explore", "--plan", "forks.yaml", "--exec", proj.agent(script), "--yes", "--json")
    assert explored.code == 0, explored.err
    plan = json.loads(explored.out)["plan"]
    titled = proj.agent({"*": [{"write": {"notes.md": "# Notes\n"}}]}, name="titled.json")
    for fork in ("short", "long"):  # whichever the plan lists first, the hint names the one revised
        revised = run_cli(
            "revise", f"{plan}/{fork}", "--comment", "notes.md:1: a title", "--exec", titled, "--yes"
        )
        assert revised.code == 0, revised.err
        (review,) = [line for line in revised.out.splitlines() if line.startswith("Review:")]
        assert review.endswith(f"..conductor/{plan}/{fork}"), review
        summaries = [e.summary for e in proj.events(plan, fork) if e.type is EventType.FORK_RESUMED]
        assert summaries == [f"reopened for review comments (step_00{2 if fork == 'short' else 3})"]
        shown = run_cli("events", "--plan", plan, "--fork", fork).out
        assert "reopened for review comments" in shown and "a crash or a kill" not in shown


def test_explain_shows_the_steps_own_timeout_not_the_policys(proj: Project, run_cli) -> None:
    steps = [
        {
            "title": "Write hello.py",
            "instruction": "Write it",
            "allowed_files": ["hello.py"],
            "timeout_seconds": 120,
        }
    ]
    plan = proj.plan(steps, policy={"behavior": {"timeout_seconds": 900}})
    built = build(run_cli, proj, plan, proj.agent({"step_001": [HELLO]}), "--json")
    assert built.code == 0, built.err
    plan_id = json.loads(built.out)["plan"]
    assert json.loads(proj.record("completed/step_001.task.json", plan_id))["timeout_seconds"] == 120
    shown = json.loads(run_cli("explain", "step_001", "--plan", plan_id, "--json").out)
    lines = (proj.root / plan).read_text().splitlines()
    origin = f"plan.yaml:{1 + lines.index('  timeout_seconds: 120')}, step_001's own timeout_seconds"
    assert shown["policy"]["values"]["behavior.timeout_seconds"] == {"value": 120, "origin": origin}
    text = run_cli("explain", "step_001", "--plan", plan_id).out
    assert f"  behavior.timeout_seconds: 120  ({origin})" in text
