"""Scale-out through git: a plan run with `--remote` queues its steps on a shared (bare) remote,
`conductor worker`s in other clones claim them by atomic push and do them, and the machine
that runs the plan verifies and commits the results."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from conductor.executors.queue import Queue
from tests.conftest import assert_fsck_clean, conductor_bin, git, run_process, wait_until
from tests.scenario import Project

STEPS = [
    {"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]},
    {"title": "Write b.txt", "instruction": "Write b.txt", "allowed_files": ["b.txt"]},
]


pytestmark = pytest.mark.slow  # workers in other clones, a coordinator process each


@pytest.fixture
def shared(proj: Project, tmp_path: Path) -> tuple[Project, Path]:
    """The project pushed to a bare remote, and a worker's clone of it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(proj.root, "remote", "add", "origin", str(remote))
    git(proj.root, "push", "-q", "origin", "HEAD")
    clone = tmp_path / "worker"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    return proj, clone


def coordinate(proj: Project, plan: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [conductor_bin(), "build", "--plan", plan, "--remote", "origin", "--yes", "--json", *extra],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def work_until_done(coordinator: subprocess.Popen[str], clone: Path, command: str, name: str) -> list[dict]:
    """Run `conductor worker --once` in the clone until the plan's process ends."""
    done = []
    deadline = time.monotonic() + 120
    while coordinator.poll() is None and time.monotonic() < deadline:
        result = run_process(
            conductor_bin(),
            "worker",
            "--remote",
            "origin",
            "--exec",
            command,
            "--name",
            name,
            "--once",
            "--json",
            cwd=clone,
        )
        assert result.code == 0, result.err
        done += json.loads(result.out)["done"]
        time.sleep(0.2)
    return done


def test_workers_in_another_clone_do_the_steps_and_the_plan_verifies_them(
    shared: tuple[Project, Path], run_cli
) -> None:
    proj, clone = shared
    script = {
        "step_001": [{"write": {"a.txt": "a from afar\n"}}],
        "step_002": [{"write": {"b.txt": "b\n"}}, {"result": {"agent": None}}],  # an agent with no name
    }
    coordinator = coordinate(proj, proj.plan(STEPS))
    done = work_until_done(coordinator, clone, proj.agent(script), "far-away")
    out, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, err
    plan = json.loads(out)["plan"]
    assert [(d["step"], d["status"]) for d in done] == [("step_001", "completed"), ("step_002", "completed")]
    assert "claimed by worker far-away" in err and "queued on origin" in err
    branch = proj.branch(plan)
    assert git(proj.root, "show", f"{branch}:a.txt") == "a from afar\n"
    authors = git(proj.root, "log", "--format=%an", f"HEAD..{branch}").splitlines()
    assert authors == ["far-away", "scripted agent"]  # the agent's own name, else the worker's
    claims = [e for e in proj.events(plan) if e.type.value == "task.claimed"]
    assert [c.data["worker"]["name"] for c in claims] == ["far-away", "far-away"]
    queue = Queue(proj.root, "origin").listing()
    for step in ("step_001", "step_002"):
        for kind in ("task", "claim", "result"):
            assert f"refs/conductor/work/{plan}/main/{step}/1/{kind}" in queue
    assert run_cli("verify", plan).code == 0
    assert_fsck_clean(proj.root)
    # clean drops the local copies of the queue refs; the remote keeps its record
    local = git(proj.root, "for-each-ref", "--format=%(refname)", "refs/conductor/work/").split()
    assert len(local) == 6
    cleaned = run_cli("clean", plan, "--json")
    assert "6 local work-queue refs" in cleaned.out
    assert git(proj.root, "for-each-ref", "refs/conductor/work/") == ""
    assert len(Queue(proj.root, "origin").listing()) == 6
    # the worker's clone keeps no worktree behind
    assert git(clone, "worktree", "list").count("\n") == 1


def test_a_remote_result_is_verified_against_this_repositorys_policy(shared: tuple[Project, Path]) -> None:
    proj, clone = shared
    script = {
        "step_001": {
            "1": [{"write": {"a.txt": "a\n", "poetry.lock": "sneaky\n"}}],
            "2": [{"write": {"a.txt": "a\n"}}],
        }
    }
    coordinator = coordinate(proj, proj.plan(STEPS[:1]))
    done = work_until_done(coordinator, clone, proj.agent(script), "careless")
    _, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, err
    assert [d["attempt"] for d in done] == [1, 2]
    assert "Constraint violation: poetry.lock: modified: protected by '*.lock'" in err
    assert git(proj.root, "show", f"{proj.branch()}:poetry.lock") == "locked\n"


def test_only_one_of_two_racing_claims_wins(shared: tuple[Project, Path], tmp_path: Path) -> None:
    _, clone = shared
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(other))
    ref = "refs/conductor/work/p/main/step_001/1/claim"
    first, second = Queue(clone, "origin"), Queue(other, "origin")
    head = git(clone, "rev-parse", "HEAD").strip()
    mine = first.commit({"worker.json": b'{"name": "first"}'}, parent=head, message="claimed by first\n")
    theirs = second.commit({"worker.json": b'{"name": "second"}'}, parent=head, message="claimed by second\n")
    assert first.create(ref, mine) is True
    assert second.create(ref, theirs) is False  # the ref exists: the lease fails, nothing changes
    assert second.listing(ref) == {ref: mine}


def test_bad_remotes_are_refused_before_any_work(shared: tuple[Project, Path], run_cli) -> None:
    proj, clone = shared
    result = run_cli("build", "--plan", proj.plan(STEPS), "--remote", "nowhere", "--yes")
    assert result.code == 1 and "there is no git remote 'nowhere'" in result.err
    assert proj.ledger().plans() == []
    both = run_cli("build", "--plan", "plan.yaml", "--remote", "origin", "--exec", "true")
    assert both.code == 1 and "--remote is for the remote executor" in both.err
    worker = run_process(
        conductor_bin(), "worker", "--remote", "nowhere", "--exec", "true", "--once", cwd=clone
    )
    assert worker.code == 1 and "there is no git remote 'nowhere'" in worker.err


def test_a_step_nobody_claims_times_out(shared: tuple[Project, Path]) -> None:
    proj, _ = shared
    steps = [dict(STEPS[0], timeout_seconds=2)]
    coordinator = coordinate(proj, proj.plan(steps, policy={"behavior": {"max_attempts": 1}}))
    out, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 1
    assert json.loads(out)["state"] == "failed"
    assert "step_001: Task timeout" in err
    kinds = [e.type.value for e in proj.events()]
    assert kinds == ["fork.created", "task.created", "task.timed_out", "fork.failed"]  # never claimed


def test_a_coordinator_killed_while_waiting_resumes_and_takes_the_workers_result(
    shared: tuple[Project, Path], run_cli
) -> None:
    proj, clone = shared
    plan_file = proj.plan(STEPS[:1])
    coordinator = coordinate(proj, plan_file)
    queue = Queue(proj.root, "origin")
    wait_until(
        lambda: any(ref.endswith("/task") for ref in queue.listing()), timeout=60, what="a queued task"
    )
    coordinator.kill()
    coordinator.communicate(timeout=30)
    script = {"step_001": [{"write": {"a.txt": "done while nobody watched\n"}}]}
    worked = run_process(
        conductor_bin(),
        "worker",
        "--remote",
        "origin",
        "--exec",
        proj.agent(script),
        "--once",
        "--json",
        cwd=clone,
    )
    assert [d["step"] for d in json.loads(worked.out)["done"]] == ["step_001"], worked.err
    resumed = run_cli("resume", "--yes")
    assert resumed.code == 0, resumed.err
    assert git(proj.root, "show", f"{proj.branch()}:a.txt") == "done while nobody watched\n"
    tasks = [ref for ref in queue.listing() if ref.endswith("/task")]
    assert len(tasks) == 1  # the resumed plan did not queue the task again
    assert [e.type.value for e in proj.events()].count("task.completed") == 1


def test_without_a_sandbox_a_workers_clone_is_watched_and_put_back(shared: tuple[Project, Path]) -> None:
    """A hostile command on a worker that runs with `sandbox.mode: off` writes the worker's
    clone: the attempt fails, and the clone is as it was."""
    proj, clone = shared
    policy = clone / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nsandbox:\n  mode: off\n")
    git(clone, "commit", "-q", "-am", "no sandbox on this worker")
    hook = clone / ".git" / "hooks" / "post-checkout"
    hostile = (
        f"echo pwned > {clone}/pwned.txt; printf '#!/bin/sh\\necho pwned\\n' > {hook}; chmod +x {hook};"
        " printf 'a\\n' > a.txt"
    )
    before = git(clone, "status", "--porcelain"), git(clone, "for-each-ref", "refs/heads", "refs/tags")
    plan = proj.plan(STEPS[:1], policy={"behavior": {"max_attempts": 1}})
    coordinator = coordinate(proj, plan)
    done = work_until_done(coordinator, clone, hostile, "hostile")
    _, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 1
    assert [d["status"] for d in done] == ["failed"]
    assert "changed the worker's repository outside its workspace (put back)" in err, err
    assert not (clone / "pwned.txt").exists() and not hook.exists()
    assert (
        git(clone, "status", "--porcelain"),
        git(clone, "for-each-ref", "refs/heads", "refs/tags"),
    ) == before
