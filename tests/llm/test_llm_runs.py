"""Plans run by a model through the real CLI, the real google-genai SDK and a fake Gemini."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conductor.llm.fake import FakeModelServer
from tests.conftest import PYTHON, free_port, git
from tests.llm.conftest import KEY, serving
from tests.scenario import Project


@pytest.fixture(scope="session")
def python3_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `python3` is this Python, started as itself."""
    folder = tmp_path_factory.mktemp("python3")
    (folder / "python3").symlink_to(PYTHON)
    return folder


@pytest.fixture(autouse=True)
def python3_at_once(python3_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python3`, which the verify commands the models write run, is found first in python3_bin:
    where it would be a version manager's shim (pyenv's is a shell script), each verify command
    would cost 0.2 s more."""
    monkeypatch.setenv("PATH", f"{python3_bin}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start a fake Gemini with a script: model(script) -> server; the key and URL are set."""
    with serving(monkeypatch) as serve:
        yield lambda script, flavor="gemini": serve(FakeModelServer(script, flavor=flavor))


def step(
    title: str, path: str, *, verify: list[str] | None = None, confidence: float = 0.9
) -> dict[str, Any]:
    return {
        "title": title,
        "instruction": f"{title}.",
        "allowed_files": [path],
        "verify": verify or [],
        "confidence": confidence,
    }


def edits(*files: tuple[str, str], summary: str = "done") -> dict[str, Any]:
    return {
        "summary": summary,
        "explanation": f"Changed {', '.join(p for p, _ in files)}.",
        "edits": [{"path": p, "action": "write", "content": c} for p, c in files],
    }


def plan_reply(*strategies: tuple[str, str, list[dict[str, Any]]], match: str = "Goal:") -> dict[str, Any]:
    return {
        "match": [match],
        "json": {
            "strategies": [{"id": sid, "strategy": text, "steps": steps} for sid, text, steps in strategies]
        },
    }


def edit_reply(strategy: str, task: str, attempt: int, answer: dict[str, Any]) -> dict[str, Any]:
    return {"match": [f"Strategy: {strategy}", f"Task {task} (attempt {attempt})"], "json": answer}


def all_objects(root: Path) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root, capture_output=True, check=True
    ).stdout


def test_build_with_a_model_plans_does_and_records_every_call(proj: Project, run_cli, model) -> None:
    fake = model(
        [
            plan_reply(
                (
                    "single",
                    "One module",
                    [
                        step("Create todo.py", "todo.py", verify=["python3 todo.py"]),
                        step("Document it", "TODO.md"),
                    ],
                )
            ),
            edit_reply("One module", "step_001", 1, edits(("todo.py", "print('todo')\n"))),
            edit_reply("One module", "step_002", 1, edits(("TODO.md", "# Todo\n"))),
        ]
    )
    result = run_cli("build", "Create a todo tool", "--json", "--yes")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [(s["step"], s["state"]) for s in data["forks"][0]["steps"]] == [
        ("step_001", "completed"),
        ("step_002", "completed"),
    ]
    plan = data["plan"]
    branch = f"conductor/{plan}/single"
    subjects = git(proj.root, "log", "--format=%an|%s", f"{data['base']}..{branch}").splitlines()
    assert subjects == [
        "gemini-3.8-flash (conductor llm executor)|Document it",
        "gemini-3.8-flash (conductor llm executor)|Create todo.py",
    ]
    assert len(fake.seen) == 3
    assert all(s.path == "/v1/models/gemini-3.8-flash:generateContent" for s in fake.seen)
    # every call is in the ledger: the plan's in the plan log, the steps' in the fork log
    planned = json.loads(git(proj.root, "show", f"refs/conductor/plans/{plan}:llm/plan/001.json"))
    assert planned["request"]["purpose"] == "plan" and "Create a todo tool" in planned["request"]["prompt"]
    assert planned["response"]["usage"] == {"input": 120, "output": 80}
    edit = json.loads(proj.record("llm/step_001/attempt_1/001.json", plan=plan, fork="single"))
    assert edit["request"]["scope"] == "single/step_001/1" and edit["valid"] is True
    assert "print('todo')" in edit["response"]["text"]
    kinds = [e.type.value for e in proj.events(plan, "single")]
    assert kinds.count("llm.exchange") == 2
    # the key reached the API but no ledger object
    assert KEY.encode() not in all_objects(proj.root)
    metrics = json.loads(run_cli("handoff-metrics", "--json").out)
    assert metrics["tokens"] == {"input": 240, "output": 160}


def test_model_edits_to_a_protected_file_or_outside_the_workspace_are_rejected(
    proj: Project, run_cli, model, tmp_path: Path
) -> None:
    outside = proj.root.parent / "evil.py"
    model(
        [
            plan_reply(("one", "Edit app", [step("Change app.py", "app.py")])),
            edit_reply("Edit app", "step_001", 1, edits(("app.py", "x = 1\n"), ("poetry.lock", "pinned\n"))),
            edit_reply(
                "Edit app", "step_001", 2, edits(("app.py", "x = 2\n"), ("../evil.py", "import os\n"))
            ),
            edit_reply("Edit app", "step_001", 3, edits(("app.py", "x = 3\n"))),
        ]
    )
    (proj.root / ".conductor" / "policy.yaml").write_text(
        (proj.root / ".conductor" / "policy.yaml").read_text() + "  max_attempts: 3\n"
    )
    git(proj.root, "commit", "-qam", "three attempts")
    result = run_cli("build", "Change app.py", "--yes")
    assert result.code == 0, result.err
    plan = proj.only_plan()
    rejected = [e for e in proj.events(plan, "one") if e.type.value == "task.rejected"]
    assert [e.attempt for e in rejected] == [1, 2]
    assert "poetry.lock: modified: protected by '*.lock'" in rejected[0].summary
    assert "../evil.py: the result lists a path that contains '..'" in rejected[1].summary
    assert not outside.exists()
    explanation = proj.record("evidence/step_001/attempt_2/explanation.md", plan=plan, fork="one")
    assert "Not written: `../evil.py`" in explanation
    assert git(proj.root, "show", f"conductor/{plan}/one:app.py") == "x = 3\n"


def test_a_plan_that_lists_a_protected_file_is_sent_back_to_the_planner(
    proj: Project, run_cli, model
) -> None:
    fake = model(
        [
            plan_reply(("one", "Lock it", [step("Pin versions", "poetry.lock")])),
            plan_reply(("one", "Lock it", [step("Pin versions", "requirements.txt")]), match="was sent back"),
            edit_reply("Lock it", "step_001", 1, edits(("requirements.txt", "click==8\n"))),
        ]
    )
    result = run_cli("build", "Pin versions", "--yes")
    assert result.code == 0, result.err
    second = fake.seen[1].body["contents"][0]["parts"][0]["text"]
    assert "allows 'poetry.lock', which the policy protects ('*.lock')" in second
    plan = proj.only_plan()
    assert git(proj.root, "show", f"conductor/{plan}/one:requirements.txt") == "click==8\n"


def test_a_planner_that_insists_on_a_protected_file_is_an_error(proj: Project, run_cli, model) -> None:
    model(
        [
            plan_reply(("one", "Lock it", [step("Pin versions", "poetry.lock")])),
            plan_reply(("one", "Lock it", [step("Pin versions", "poetry.lock")]), match="was sent back"),
        ]
    )
    result = run_cli("build", "Pin versions")
    assert result.code == 1 and "the planner kept listing protected files" in result.err
    assert proj.ledger().plans() == []


THREE = [
    (
        "argparse",
        "Standard library argparse",
        [step("Create todo.py", "todo.py", verify=["python3 todo.py"])],
    ),
    ("click-app", "A click application", [step("Create cli.py", "cli.py")]),
    ("locked", "Pin everything first", [step("Create main.py", "main.py")]),
]


def three_fork_script(extra: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [
        plan_reply(*THREE, match="3 genuinely different strategies"),
        edit_reply("Standard library argparse", "step_001", 1, edits(("todo.py", "print('a')\n"))),
        edit_reply(
            "A click application", "step_001", 1, edits(("cli.py", "print('b')\n"), ("cli.py", "print(2)\n"))
        ),
        edit_reply("Pin everything first", "step_001", 1, edits(("main.py", "m\n"), ("uv.lock", "x\n"))),
        edit_reply("Pin everything first", "step_001", 2, edits(("main.py", "m\n"), ("uv.lock", "y\n"))),
        *(extra or []),
    ]


def test_explore_runs_three_forks_in_parallel_compares_and_recommends(proj: Project, run_cli, model) -> None:
    fake = model(three_fork_script())
    result = run_cli(
        "explore", "Create a Python CLI task manager", "--forks", "3", "--no-spawn", "--yes", "--json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    forks = {f["fork"]: f for f in data["forks"]}
    assert set(forks) == {"argparse", "click-app", "locked"}
    assert forks["argparse"]["state"] == "completed" and forks["argparse"]["evidence"] == {
        "passed": 1,
        "total": 1,
    }
    assert forks["click-app"]["state"] == "completed"
    assert forks["locked"]["state"] == "failed" and forks["locked"]["repairs"] == 1
    assert all(f["tokens"] > 0 and f["seconds"] is not None for f in forks.values())
    assert data["recommended"] == "argparse"
    assert "1/1 verify command passed" in data["reason"]
    assert len(fake.seen) == 5
    for fork in ("argparse", "click-app", "locked"):
        assert git(proj.root, "rev-parse", "--verify", f"conductor/{data['plan']}/{fork}")
    text = run_cli(
        "explore",
        "Again",
        "--strategy",
        "x",
        "--no-spawn",
        "--yes",
        "--executor",
        "handoff",
        "--plan",
        "nope.yaml",
    )
    assert text.code == 1 and "nope.yaml: file not found" in text.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_explore_text_shows_the_comparison_table(proj: Project, run_cli, model) -> None:
    model(three_fork_script())
    result = run_cli("explore", "Create a Python CLI task manager", "--no-spawn", "--yes")
    assert result.code == 0, result.err
    header = next(line for line in result.out.splitlines() if "confidence" in line)
    assert header.split() == ["fork", "status", "steps", "evidence", "diff", "confidence", "tokens", "time"]
    assert "Recommended: argparse" in result.out
    assert "[" in result.err and "argparse" in result.err  # progress per fork (plain lines: not a terminal)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_failing_fork_spawns_a_new_strategy(proj: Project, run_cli, model) -> None:
    extra = [
        plan_reply(
            ("plain", "No lock files at all", [step("Create main.py", "main.py")]),
            match="were tried and failed",
        ),
        edit_reply("No lock files at all", "step_001", 1, edits(("main.py", "ok\n"))),
    ]
    fake = model(three_fork_script(extra))
    result = run_cli("explore", "Create a Python CLI task manager", "--yes", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    forks = {f["fork"]: f for f in data["forks"]}
    assert forks["plain"]["spawned"] is True and forks["plain"]["state"] == "completed"
    spawn_request = next(s for s in fake.seen if "were tried and failed" in s.text)
    assert "Pin everything first: failed because" in spawn_request.body["contents"][0]["parts"][0]["text"]
    plan_events = [e for e in proj.ledger().log(f"refs/conductor/plans/{data['plan']}", newest_first=False)]
    spawned = [e for e in plan_events if e.type.value == "fork.spawned"]
    assert len(spawned) == 1 and spawned[0].fork == "plain" and spawned[0].data["after"] == ["locked"]
    plan_json = json.loads(git(proj.root, "show", f"refs/conductor/plans/{data['plan']}:plan.json"))
    assert [f["id"] for f in plan_json["spec"]["forks"]][-1] == "plain"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_replay_reproduces_identical_trees_with_no_network_and_no_key(
    proj: Project, run_cli, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = model(three_fork_script())
    assert run_cli("explore", "Create a Python CLI task manager", "--no-spawn", "--yes").code == 0
    plan = proj.only_plan()
    fake.stop()
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    result = run_cli("replay", plan, "--verify", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["identical"] is True and data["replay_of"] == plan
    assert {(s["fork"], s["step"]) for s in data["steps"]} == {
        ("argparse", "step_001"),
        ("click-app", "step_001"),
    }
    assert all(s["original_tree"] == s["replayed_tree"] for s in data["steps"])
    replayed = data["plan"]
    assert (
        git(proj.root, "rev-parse", f"conductor/{replayed}/argparse^{{tree}}").strip()
        == git(proj.root, "rev-parse", f"conductor/{plan}/argparse^{{tree}}").strip()
    )
    # a plan without model calls cannot be replayed
    never = run_cli("replay", "no-such-plan")
    assert never.code == 1 and "no plan 'no-such-plan'" in never.err


def test_explore_with_strategies_of_your_own_and_a_command_executor(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"notes.md": "# notes\n"}}]})
    result = run_cli(
        "explore",
        "Write notes",
        "--strategy",
        "short notes",
        "--strategy",
        "long notes",
        "--exec",
        command,
        "--yes",
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert sorted(f["fork"] for f in data["forks"]) == ["long-notes", "short-notes"]
    assert all(f["state"] == "completed" for f in data["forks"])
    task = json.loads(proj.record("completed/step_001.task.json", plan=data["plan"], fork="long-notes"))
    assert task["instruction"] == "Write notes\n\nStrategy: long notes"


def test_explore_without_a_model_or_strategies_says_how_to_configure_one(proj: Project, run_cli) -> None:
    result = run_cli("explore", "Anything", "--exec", "true")
    assert result.code == 1
    assert (
        "explore needs strategies" in result.err
        and "GEMINI_API_KEY" in result.err
        and "--strategy" in result.err
    )
    no_key = run_cli("build", "Anything", "--executor", "llm")
    assert no_key.code == 1 and "needs a model" in no_key.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_refused_connection_names_the_url_and_asks_whether_the_server_runs(proj: Project, run_cli) -> None:
    config = proj.root / ".conductor" / "config.yaml"
    config.write_text("llm:\n  retries: 1\n  retry_backoff_seconds: 0.01\n  timeout_seconds: 5\n")
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run_cli("build", "--llm", "openai", "--base-url", url, "--model", "m", "Add x.py")
    assert result.code == 1
    assert f"error: the model failed 2 times; last: cannot reach {url}: connection refused" in result.err
    assert "hint: is the server running at that URL? (check --base-url / llm.base_url)" in result.err
    assert "llm.retries" not in result.err
    assert proj.ledger().plans() == []


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_an_openai_compatible_server_through_the_cli(proj: Project, run_cli, model) -> None:
    fake = model(
        [
            plan_reply(("local", "Local model", [step("Create a.py", "a.py")])),
            edit_reply("Local model", "step_001", 1, edits(("a.py", "a = 1\n"))),
        ],
        flavor="openai",
    )
    result = run_cli(
        "build", "Create a.py", "--llm", "openai", "--base-url", fake.url, "--model", "llama3.1", "--yes"
    )
    assert result.code == 0, result.err
    assert all(s.path == "/v1/chat/completions" and s.body["model"] == "llama3.1" for s in fake.seen)
    plan = proj.only_plan()
    recorded = json.loads(git(proj.root, "show", f"refs/conductor/plans/{plan}:plan.json"))
    assert recorded["executor"]["llm"]["provider"] == "openai"


def test_the_planner_sees_the_repository_at_the_base_it_plans_from(proj: Project, run_cli, model) -> None:
    (proj.root / "later.py").write_text("added after the base\n")
    git(proj.root, "add", "later.py")
    git(proj.root, "commit", "-q", "-m", "later")
    (proj.root / "staged.py").write_text("not committed\n")
    git(proj.root, "add", "staged.py")
    fake = model(
        [
            plan_reply(("one", "Notes", [step("Write notes", "notes.md")])),
            edit_reply("Notes", "step_001", 1, edits(("notes.md", "n\n"))),
        ]
    )
    result = run_cli("build", "Write notes", "--base", "HEAD~1", "--yes")
    assert result.code == 0, result.err
    prompt = fake.seen[0].body["contents"][0]["parts"][0]["text"]
    assert "app.py" in prompt and "later.py" not in prompt and "staged.py" not in prompt
