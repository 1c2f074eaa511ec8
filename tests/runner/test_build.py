"""`conductor build` end to end with the command executor and a scripted agent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import (
    PYTHON,
    SANDBOX_MODES,
    assert_fsck_clean,
    git,
    processes_with,
    run_process,
    wait_until,
)
from tests.scenario import HELLO_STEPS as STEPS
from tests.scenario import Project, build

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}


def test_each_accepted_step_is_one_commit_with_trailers_author_and_committer(proj: Project, run_cli) -> None:
    plan = proj.plan(STEPS)
    command = proj.agent({"step_001": [HELLO, {"result": {"summary": "Added greet()."}}], "step_002": [TEST]})
    result = build(run_cli, proj, plan, command, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["state"] == "completed"
    assert [(s["step"], s["state"], s["attempt"]) for s in data["forks"][0]["steps"]] == [
        ("step_001", "completed", 1),
        ("step_002", "completed", 1),
    ]
    plan_id = data["plan"]
    base = git(proj.root, "rev-parse", "HEAD").strip()
    assert data["base"] == base
    log = git(proj.root, "log", "--format=%H%x00%an <%ae>%x00%cn <%ce>%x00%B%x01", f"{base}..{proj.branch()}")
    commits = [entry.strip("\n").split("\x00") for entry in log.split("\x01") if entry.strip()]
    assert len(commits) == 2
    _newest, oldest = commits
    assert oldest[1] == "scripted agent <command-executor@conductor.invalid>"
    assert oldest[2] == "Test User <test@example.com>"
    assert oldest[3].startswith("Create hello.py\n\nAdded greet().\n")
    trailers = git(proj.root, "log", "-1", "--format=%(trailers:only,unfold)", oldest[0])
    for line in (
        f"Conductor-Plan: {plan_id}",
        "Conductor-Fork: main",
        "Conductor-Step: step_001",
        "Conductor-Attempt: 1",
        "Conductor-Confidence: 0.78 medium",
    ):
        assert line in trailers
    assert "Conductor-Evidence: sha256:" in trailers
    assert git(proj.root, "ls-tree", "--name-only", proj.branch(), "hello.py").strip() == "hello.py"
    # the evidence digest in the trailer is the digest of the recorded verdict
    import hashlib

    verdict = proj.record("evidence/step_001/attempt_1/verdict.json")
    assert f"sha256:{hashlib.sha256(verdict.encode()).hexdigest()}" in trailers
    assert json.loads(verdict)["commands"][0]["exit_code"] == 0
    assert_fsck_clean(proj.root)


def test_the_users_checkout_is_never_modified(proj: Project, run_cli) -> None:
    (proj.root / "notes.txt").write_text("my uncommitted work\n")
    (proj.root / "app.py").write_text("print('edited by me')\n")
    head = git(proj.root, "rev-parse", "HEAD")
    status = git(proj.root, "status", "--porcelain")
    plan = proj.plan(STEPS[:1])
    head = git(proj.root, "rev-parse", "HEAD")
    result = build(run_cli, proj, plan, proj.agent({"*": [HELLO]}))
    assert result.code == 0, result.err
    assert git(proj.root, "rev-parse", "HEAD") == head
    assert git(proj.root, "status", "--porcelain") == status
    assert (proj.root / "app.py").read_text() == "print('edited by me')\n"
    assert not (proj.root / "hello.py").exists()
    assert git(proj.root, "branch", "--show-current").strip() == "main"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_worktrees_are_invisible_to_git_status_pytest_and_ruff(proj: Project, run_cli) -> None:
    bad_test = "def test_fails():\n    assert False\n\nimport os,sys\n"
    steps = [{"title": "t", "instruction": "i", "allowed_files": ["test_generated.py"]}]
    plan = proj.plan(steps)
    result = build(run_cli, proj, plan, proj.agent({"*": [{"write": {"test_generated.py": bad_test}}]}))
    assert result.code == 0, result.err
    worktree = proj.worktree()
    assert (worktree / "test_generated.py").exists()
    assert git(proj.root, "status", "--porcelain") == ""
    # only the mailbox shows up among ignored files; the worktree lives inside .git
    assert git(proj.root, "status", "--porcelain", "--ignored") == "!! .conductor/handoff/\n"
    plain = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # without ours: twice as fast to start
    collected = run_process(PYTHON, "-m", "pytest", "--collect-only", "-q", cwd=proj.root, env=plain)
    assert "test_generated" not in collected.out
    linted = run_process(PYTHON, "-m", "ruff", "check", "--select", "E401,F401", ".", cwd=proj.root)
    assert "test_generated" not in linted.out and linted.code == 0


def test_a_goal_without_a_plan_is_one_step_that_may_change_any_unprotected_file(
    proj: Project, run_cli
) -> None:
    command = proj.agent({"*": [{"write": {"src/anything.py": "x = 1\n"}}]})
    halted = run_cli("build", "Add src/anything.py", "--exec", command)
    assert halted.code == 1
    assert "needs approval: LOW confidence" in halted.err
    state = proj.state()
    assert state.status.value == "halted"
    assert any(
        ln.split() == ["step_001", "awaiting", "approval"] for ln in run_cli("status").out.splitlines()
    )
    approved = run_cli("approve", "step_001")
    assert approved.code == 0, approved.err
    assert "Approved step_001" in approved.out
    assert git(proj.root, "show", f"{proj.branch()}:src/anything.py") == "x = 1\n"
    task = json.loads(proj.record("completed/step_001.task.json"))
    assert task["allowed_files"] == ["**"] and task["instruction"] == "Add src/anything.py"


def test_yes_runs_a_low_confidence_step_at_once(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    result = run_cli("build", "Add x.py", "--exec", command, "--yes")
    assert result.code == 0, result.err
    kinds = [e.type.value for e in proj.events()]
    assert "approval.requested" not in kinds and kinds[-1] == "fork.completed"


def test_reject_fails_the_fork(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    assert run_cli("build", "Add x.py", "--exec", command).code == 1
    rejected = run_cli("reject", "step_001", "--reason", "too broad")
    assert rejected.code == 1
    assert proj.state().status.value == "failed"
    denial = [e for e in proj.events() if e.type.value == "approval.denied"]
    assert len(denial) == 1 and "too broad" in denial[0].summary and "Test User" in denial[0].summary
    assert "approval" in run_cli("explain", "step_001").out.lower()


def test_a_plan_step_that_lists_a_protected_file_is_refused_before_any_work(proj: Project, run_cli) -> None:
    steps = [
        {"title": "ok", "instruction": "i", "allowed_files": ["a.py"]},
        {"title": "lock", "instruction": "i", "allowed_files": ["b.py", "poetry.lock"]},
    ]
    plan = proj.plan(steps)
    result = build(run_cli, proj, plan, proj.agent({}))
    assert result.code == 1
    assert result.err.startswith("error: plan.yaml:")
    assert "allows 'poetry.lock', which is protected by '*.lock'" in result.err
    assert "(field 'steps.1.allowed_files.1')" in result.err
    assert proj.ledger().plans() == []  # nothing half-written


def test_an_invalid_plan_file_is_a_clear_error_and_records_nothing(proj: Project, run_cli) -> None:
    (proj.root / "bad.yaml").write_text("goal: g\nsteps:\n  - title: t\n    instructions: typo\n")
    result = run_cli("build", "--plan", "bad.yaml", "--exec", "true")
    assert result.code == 1 and "bad.yaml:4: unknown key" in result.err
    assert "steps.0.instructions" in result.err
    (proj.root / "escape.yaml").write_text(
        "goal: g\nsteps:\n  - title: t\n    instruction: i\n    allowed_files: ['../x']\n"
    )
    result = run_cli("build", "--plan", "escape.yaml", "--exec", "true")
    assert result.code == 1 and "escape.yaml:5:" in result.err and "contains '..'" in result.err
    (proj.root / "abs.yaml").write_text(
        "goal: g\nsteps:\n  - title: t\n    instruction: i\n    allowed_files: ['/etc/passwd']\n"
    )
    result = run_cli("build", "--plan", "abs.yaml", "--exec", "true")
    assert result.code == 1 and "is absolute" in result.err
    missing = run_cli("build", "--plan", "nope.yaml", "--exec", "true")
    assert missing.code == 1 and "nope.yaml: file not found" in missing.err
    assert run_cli("build").code == 1
    assert proj.ledger().plans() == []
    assert git(proj.root, "branch", "--list", "conductor/*") == ""


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_command_executor_contract_env_stdin_and_derived_result(
    proj: Project, run_cli, tmp_path: Path, sandbox: str
) -> None:
    proj.sandbox(sandbox)
    agent = tmp_path / "agent.py"
    keys = ("CONDUCTOR_TASK_FILE", "CONDUCTOR_WORKSPACE", "CONDUCTOR_RESULT_DIR")
    agent.write_text(
        "import json, os, sys\n"
        f"seen = {{k: os.environ[k] for k in {keys!r}}}\n"
        "seen.update(stdin=sys.stdin.read(), cwd=os.getcwd())\n"
        "seen.update(task=json.load(open(os.environ['CONDUCTOR_TASK_FILE']))['task_id'])\n"
        "json.dump(seen, open('seen.json', 'w'))\n"
        "open('made.txt', 'w').write('x' * 10)\n"
        "print('line of output\\n' * 20000)\n"
    )
    plan = proj.plan(
        [{"title": "t", "instruction": "Make made.txt please", "allowed_files": ["made.txt", "seen.json"]}]
    )
    result = build(run_cli, proj, plan, f"{PYTHON} {agent}")
    assert result.code == 0, result.err
    assert ("in the sandbox" if sandbox == "auto" else "without a sandbox") in result.err
    info = json.loads(git(proj.root, "show", f"{proj.branch()}:seen.json"))
    worktree = str(proj.worktree())
    assert info["stdin"] == "Make made.txt please" and info["task"] == "step_001"
    assert info["cwd"] == worktree and info["CONDUCTOR_WORKSPACE"] == worktree
    if sandbox == "auto":  # the mailbox is out of sight: a copy of the task, a result dir of its own
        assert info["CONDUCTOR_TASK_FILE"].endswith("/handover/task.json")
        assert info["CONDUCTOR_RESULT_DIR"].endswith("/handover/result")
    else:
        assert info["CONDUCTOR_TASK_FILE"].endswith("/in_progress/step_001.task.json")
        assert info["CONDUCTOR_RESULT_DIR"].endswith("/completed")
    derived = json.loads(proj.record("completed/step_001.result.json"))
    assert derived["status"] == "completed" and "exited with code 0" in derived["summary"]
    explanation = proj.record("completed/step_001.explanation.md")
    assert "line of output" in explanation and "bytes not kept" in explanation
    assert len(explanation) < 80_000  # bounded, though the command printed ~300 KB


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_command_executor_kills_everything_it_started_at_the_timeout(
    proj: Project, run_cli, tmp_path: Path, sandbox: str
) -> None:
    proj.sandbox(sandbox)
    marker = f"{987000 + os.getpid() % 1000}.5"  # a sleep nobody else runs
    agent = tmp_path / "slow.sh"
    # a child in the same group, and a daemon that leaves the group and the session
    agent.write_text(f"#!/bin/sh\nsleep {marker} &\nsetsid sleep {marker} &\nsleep 30\n")
    agent.chmod(0o755)
    plan = proj.plan(
        [{"title": "t", "instruction": "i", "allowed_files": ["a.py"], "timeout_seconds": 1}],
        policy={"behavior": {"max_attempts": 1}},
    )
    result = build(run_cli, proj, plan, str(agent))
    assert result.code == 1
    timed_out = [e for e in proj.events() if e.type.value == "task.timed_out"]
    assert len(timed_out) == 1
    assert timed_out[0].summary.startswith("Task timeout:")
    assert timed_out[0].data["hint"].startswith("Increase `timeout_seconds`")
    wait_until(
        lambda: not processes_with(f"sleep {marker}"), timeout=5, what="the agent's processes to be gone"
    )


def test_a_new_plan_never_joins_an_earlier_one_whose_id_it_drew(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conductor.runner.plan import launch

    plan = proj.plan(STEPS[:1])
    command = proj.agent({"*": [{"write": {"hello.py": "def greet(name):\n    return name\n"}}]})
    assert build(run_cli, proj, plan, command).code == 0
    taken = proj.only_plan()
    before = git(proj.root, "rev-parse", f"refs/conductor/plans/{taken}")
    drawn = iter([taken])  # the id generator draws the taken id first, then a fresh one
    fresh = launch.new_plan_id
    monkeypatch.setattr(launch, "new_plan_id", lambda goal: next(drawn, None) or fresh(goal))
    again = build(run_cli, proj, plan, command)
    assert again.code == 0, again.err
    plans = proj.ledger().plans()
    assert len(plans) == 2 and taken in plans
    assert git(proj.root, "rev-parse", f"refs/conductor/plans/{taken}") == before  # untouched
    (other,) = set(plans) - {taken}
    assert [e.type.value for e in proj.events(other)][-1] == "fork.completed"  # its steps ran


def test_plan_ids_are_long_enough_not_to_collide_and_valid_everywhere() -> None:
    from conductor.models.plan import is_valid_id
    from conductor.runner.logs.plans import derived_id, new_plan_id

    ids = {new_plan_id("Create a Python CLI task manager") for _ in range(2000)}
    assert len(ids) == 2000
    sample = next(iter(ids))
    assert sample.startswith("create-a-python-cli-task-") and len(sample.rsplit("-", 1)[1]) == 12
    long_source = "x" * 63
    assert all(is_valid_id(i) for i in [*ids, derived_id(long_source, "replay"), new_plan_id("Ünïcödé!!")])
    assert len(derived_id(long_source, "replay")) <= 63
