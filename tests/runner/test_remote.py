"""Scale-out through git: a plan run with `--remote` queues its steps on a shared (bare) remote,
`conductor worker`s in other clones claim them by atomic push and do them, and the machine
that runs the plan verifies and commits the results."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conductor.executors.queue import Queue
from tests.commands.test_identity import fresh_env
from tests.conftest import (
    PYTHON,
    assert_fsck_clean,
    conductor_bin,
    conductor_with,
    git,
    run_process,
    wait_until,
)
from tests.scenario import Project

STEPS = [
    {"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]},
    {"title": "Write b.txt", "instruction": "Write b.txt", "allowed_files": ["b.txt"]},
]


REMOTE = ("--remote", "origin", "--yes", "--json")
QUICK = {"conductor.executors.remote.POLL_SECONDS": 0.2}  # a coordinator looks every 0.2 s at most, not 1 s
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


def in_background(proj: Project, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`conductor ARGS` queuing its steps on the remote, in a process of its own."""
    return subprocess.Popen(
        [*conductor_with(QUICK), *args, *REMOTE],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def coordinate(
    proj: Project, plan: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return in_background(proj, "build", "--plan", plan, *extra, env=env)


def work_until_done(
    coordinator: subprocess.Popen[str],
    clone: Path,
    command: str,
    name: str,
    *,
    agent: str | None = None,
    env: dict[str, str] | None = None,
) -> list[dict]:
    """Run `conductor worker --once` in the clone each time the queue holds a task no worker
    claimed, until the plan's process ends (with `agent`: `--agent AGENT` instead of `--exec
    COMMAND`; with `env`, in that environment)."""
    done = []
    deadline = time.monotonic() + 120
    ended = lambda: coordinator.poll() is not None  # noqa: E731
    while time.monotonic() < deadline:
        wait_until(lambda: ended() or open_task(clone), timeout=120, what="a task to do, or the plan's end")
        if ended():
            break
        result = run_process(
            conductor_bin(),
            "worker",
            "--remote",
            "origin",
            *(["--agent", agent] if agent else ["--exec", command]),
            "--name",
            name,
            "--once",
            "--json",
            cwd=clone,
            env=env,
        )
        assert result.code == 0, result.err
        done += json.loads(result.out)["done"]
    return done


def open_task(clone: Path) -> bool:
    """Whether the queue holds a task that no worker has claimed yet."""
    listing = Queue(clone, "origin").listing()
    slots = {ref.removesuffix("/task") for ref in listing if ref.endswith("/task")}
    return any(f"{slot}/claim" not in listing for slot in slots)


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
    assert [(d["step"], d["state"]) for d in done] == [("step_001", "completed"), ("step_002", "completed")]
    # a claim's moments as every time in --json: ISO 8601 in UTC, never epoch seconds
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", d["claimed_at"]) for d in done)
    assert all(d["queued_at"] <= d["claimed_at"] and d["waited_seconds"] >= 0 for d in done)
    assert "claimed by worker far-away" in err and "queued on origin" in err
    branch = proj.branch(plan)
    assert git(proj.root, "show", f"{branch}:a.txt") == "a from afar\n"
    authors = git(proj.root, "log", "--format=%an", f"HEAD..{branch}").splitlines()
    assert authors == ["far-away", "scripted agent"]  # the agent's own name, else the worker's
    claims = [e for e in proj.events(plan) if e.type.value == "task.claimed"]
    assert [c.data["worker"]["name"] for c in claims] == ["far-away", "far-away"]
    # each attempt's task, claim and result refs left the remote (and this clone) with its result
    assert Queue(proj.root, "origin").listing() == {}
    assert git(proj.root, "for-each-ref", "refs/conductor/work/") == ""
    assert run_cli("verify", plan).code == 0
    assert_fsck_clean(proj.root)
    # the worker's clone keeps no worktree behind
    assert git(clone, "worktree", "list").count("\n") == 1


def test_with_no_git_identity_anywhere_a_remote_build_completes_committing_as_conductor(
    shared: tuple[Project, Path], tmp_path: Path
) -> None:
    proj, clone = shared
    env = fresh_env(tmp_path / "nobody")  # the coordinator's and the worker's: no identity
    plan_file = proj.plan(STEPS[:1])
    coordinator = coordinate(proj, plan_file, env=env)
    script = {"step_001": [{"write": {"a.txt": "a\n"}}, {"result": {"agent": None}}]}
    done = work_until_done(coordinator, clone, proj.agent(script), "anonymous", env=env)
    out, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, err
    assert json.loads(out)["state"] == "completed"
    assert [(d["step"], d["state"]) for d in done] == [("step_001", "completed")]
    assert "git has no user identity; committing as Conductor <conductor@localhost>" in err
    plan = json.loads(out)["plan"]
    committer = git(proj.root, "log", "-1", "--format=%cn <%ce>", proj.branch(plan), env=env)
    assert committer.strip() == "Conductor <conductor@localhost>"
    assert run_process(conductor_bin(), "verify", plan, cwd=proj.root, env=env).code == 0


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


def test_a_task_the_coordinator_withdrew_cannot_be_claimed(shared: tuple[Project, Path]) -> None:
    _, clone = shared
    queue = Queue(clone, "origin")
    head = git(clone, "rev-parse", "HEAD").strip()
    slot = "refs/conductor/work/p/main/step_001/1"
    assert queue.create(f"{slot}/task", head)
    claim = queue.commit({"worker.json": b'{"name": "late"}'}, parent=head, message="claimed by late\n")
    assert queue.delete(queue.listing(f"{slot}/*"))  # the attempt timed out: its task is withdrawn
    assert queue.create(f"{slot}/claim", claim, requires={f"{slot}/task": head}) is False
    assert queue.listing() == {}
    assert queue.create(f"{slot}/task", head)  # queued again: now the claim goes through
    assert queue.create(f"{slot}/claim", claim, requires={f"{slot}/task": head}) is True
    assert sorted(queue.listing()) == [f"{slot}/claim", f"{slot}/task"]
    assert git(clone, "for-each-ref", "refs/conductor/") == ""  # a worker keeps no queue refs


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
    assert [e.type.value for e in proj.events()].count("task.completed") == 1
    assert queue.listing() == {}  # the resumed run took the result and removed the refs
    assert "step_001: already queued on origin" in resumed.err  # it did not queue the task again


def test_without_a_sandbox_a_workers_clone_is_watched_and_put_back(shared: tuple[Project, Path]) -> None:
    """A hostile command on a worker that runs with `sandbox.mode: off` writes the worker's
    repository (a hook) and its checkout: the attempt fails, the hook is put back; the
    checkout's file is reported and left (it could be the person's who uses the clone)."""
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
    assert [d["state"] for d in done] == ["failed"]
    assert "changed the worker's repository outside its workspace (put back)" in err, err
    assert not hook.exists()
    assert (clone / "pwned.txt").read_text() == "pwned\n"  # the checkout's files are never removed
    (clone / "pwned.txt").unlink()
    assert (
        git(clone, "status", "--porcelain"),
        git(clone, "for-each-ref", "refs/heads", "refs/tags"),
    ) == before


def test_refs_a_failed_cleanup_left_are_removed_by_the_next_run(shared: tuple[Project, Path]) -> None:
    """The state a coordinator killed between taking the result and removing its refs leaves:
    the remote refuses the deletions here. The plan still completes; the next run with this
    remote removes what this repository's ledger has finished, and nothing else."""
    proj, clone = shared
    hook = proj.root.parent / "remote.git" / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nwhile read old new ref; do [ $new = {'0' * 40} ] && exit 1; done\nexit 0\n")
    hook.chmod(0o755)
    script = {"*": [{"write": {"a.txt": "a\n"}}]}
    first = coordinate(proj, proj.plan(STEPS[:1]))
    work_until_done(first, clone, proj.agent(script), "w")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    plan = json.loads(out)["plan"]
    assert "could not remove 3 queue ref(s) from origin" in err
    left = Queue(proj.root, "origin").listing()
    assert sorted(ref.rsplit("/", 1)[1] for ref in left) == ["claim", "result", "task"]
    # a slot of a plan this repository does not know (another coordinator's): left alone
    head = git(proj.root, "rev-parse", "HEAD").strip()
    foreign = "refs/conductor/work/elsewhere-1/main/step_001/1/task"
    git(proj.root, "push", "-q", "origin", f"{head}:{foreign}")
    hook.unlink()
    second = coordinate(proj, proj.plan([dict(STEPS[1])], name="second.yaml"))
    work_until_done(second, clone, proj.agent(script | {"*": [{"write": {"b.txt": "b\n"}}]}), "w")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    left = Queue(proj.root, "origin").listing()
    assert left[foreign] == head  # (a worker may have taken it up meanwhile)
    assert {ref.split("/")[3] for ref in left} == {"elsewhere-1"}
    assert plan in proj.ledger().plans()


def test_a_worker_with_jobs_2_does_two_steps_at_once(proj: Project, shared: tuple[Project, Path]) -> None:
    """Two forks, one worker with --jobs 2: both steps run at the same time. (No sandbox on
    this worker, so that the commands can leave their time marks outside their worktrees.)"""
    _, clone = shared
    policy = clone / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nsandbox:\n  mode: off\n")
    git(clone, "commit", "-q", "-am", "no sandbox on this worker")
    plan = {
        "goal": "two at once",
        "forks": [
            {"id": f"f{n}", "strategy": f"way {n}", "steps": [dict(STEPS[0], title=f"a.txt, way {n}")]}
            for n in (1, 2)
        ],
    }
    (proj.root / "two.yaml").write_text(json.dumps(plan))
    git(proj.root, "add", "two.yaml")
    git(proj.root, "commit", "-q", "-m", "two forks")
    marks = clone.parent / "marks"
    marks.mkdir()
    agent = proj.agent({"*": [{"sleep": 2}, {"write": {"a.txt": "a\n"}}]})
    command = (
        f'date +%s.%N > {marks}/"$$".start; {agent}; status=$?; date +%s.%N > {marks}/"$$".end; exit $status'
    )
    coordinator = in_background(proj, "explore", "--plan", "two.yaml", "--no-spawn", "--jobs", "2")
    queue = Queue(proj.root, "origin")
    wait_until(
        lambda: sum(ref.endswith("/task") for ref in queue.listing()) == 2,
        timeout=60,
        what="two queued tasks",
    )
    worked = run_process(
        conductor_bin(),
        "worker",
        "--remote",
        "origin",
        "--exec",
        command,
        "--jobs",
        "2",
        "--once",
        "--json",
        cwd=clone,
    )
    assert worked.code == 0, worked.err
    assert sorted(d["fork"] for d in json.loads(worked.out)["done"]) == ["f1", "f2"]
    _, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, err
    starts = sorted(float(p.read_text()) for p in marks.glob("*.start"))
    ends = sorted(float(p.read_text()) for p in marks.glob("*.end"))
    assert len(starts) == len(ends) == 2
    assert starts[1] < ends[0]  # the second began before the first ended: they overlapped
    assert "2 at a time" in worked.err
    assert git(clone, "worktree", "list").count("\n") == 1


def test_workers_try_the_open_tasks_in_orders_of_their_own() -> None:
    from conductor.executors.queue import Backoff, claim_order

    slots = [f"refs/conductor/work/p/f{n}/step_001/1" for n in range(8)]
    orders = {tuple(claim_order(slots, f"worker-{n}")) for n in range(4)}
    assert all(sorted(order) == sorted(slots) for order in orders)
    assert len({order[0] for order in orders}) > 1  # not all of them start with the same task
    assert claim_order(slots, "w") == claim_order(
        list(reversed(slots)), "w"
    )  # a worker's own order is stable
    backoff = Backoff(floor=0.05, cap=0.5, factor=2)
    assert [backoff.next() for _ in range(6)] == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.05


def test_two_workers_share_the_forks_of_a_plan_and_never_do_the_same_attempt(
    shared: tuple[Project, Path], tmp_path: Path
) -> None:
    proj, clone = shared
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(other))
    plan = {
        "goal": "four ways",
        "forks": [
            {"id": f"f{n}", "strategy": f"way {n}", "steps": [dict(STEPS[0], title=f"a.txt, way {n}")]}
            for n in range(4)
        ],
    }
    (proj.root / "four.yaml").write_text(json.dumps(plan))
    git(proj.root, "add", "four.yaml")
    git(proj.root, "commit", "-q", "-m", "four forks")
    agent = proj.agent({"*": [{"sleep": 0.5}, {"write": {"a.txt": "a\n"}}]})
    coordinator = in_background(proj, "explore", "--plan", "four.yaml", "--no-spawn", "--jobs", "4")
    done: dict[str, list[dict]] = {}
    workers = [
        threading.Thread(target=lambda c=c, n=n: done.update({n: work_until_done(coordinator, c, agent, n)}))
        for c, n in ((clone, "left"), (other, "right"))
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    _, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, err
    attempts = [(d["fork"], d["step"], d["attempt"]) for name in done for d in done[name]]
    assert sorted(attempts) == [(f"f{n}", "step_001", 1) for n in range(4)]  # each once, by one worker
    claims = [
        e.data["worker"]["name"]
        for n in range(4)
        for e in proj.events(fork=f"f{n}")
        if e.type.value == "task.claimed"
    ]
    assert sorted(claims) == sorted(name for name in done for _ in done[name])
    assert Queue(proj.root, "origin").listing() == {}


def test_a_worker_runs_an_agent_profile_and_keeps_its_scratch_out_of_the_result(
    shared: tuple[Project, Path], tmp_path: Path
) -> None:
    proj, clone = shared
    agent = tmp_path / "agent.py"
    agent.write_text("from pathlib import Path\nPath('a.txt').write_text('a\\n')\n")
    agent.write_text(agent.read_text() + "Path('.mine.history').write_text('chat')\n")
    (clone / ".conductor" / "agents.yaml").write_text(
        f"agents:\n  mine:\n    program: {PYTHON}\n"
        f"    command: {PYTHON} {agent} --prompt {{prompt_file}}\n    scratch: [.mine.*]\n"
    )
    git(clone, "add", ".conductor/agents.yaml")
    git(clone, "commit", "-qm", "the worker's agent")
    plan = proj.plan(STEPS[:1])
    coordinator = coordinate(proj, plan)
    done = work_until_done(coordinator, clone, "", "agent-worker", agent="mine")
    _, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, err
    assert [d["state"] for d in done] == ["completed"]
    assert git(proj.root, "ls-tree", "-r", "--name-only", proj.branch()).split().count(".mine.history") == 0
    assert git(proj.root, "show", f"{proj.branch()}:a.txt") == "a\n"


def test_a_worker_runs_only_tasks_signed_with_its_key(shared: tuple[Project, Path], tmp_path: Path) -> None:
    """Anyone who can push to the queue can push a task; a worker runs none that its key does
    not verify — not one for a plan that exists nowhere, not one signed with another key."""
    proj, clone = shared
    marker = tmp_path / "ran"
    evil = {
        "task_id": "step_001",
        "instruction": f"touch {marker}",
        "allowed_files": ["**"],
        "timeout_seconds": 60,
        "confidence": {"score": 0.9, "level": "high"},
    }
    body = json.dumps(evil).encode()
    remote = tmp_path / "remote.git"
    from conductor.executors.queuekey import sign

    for number, signature in ((1, None), (2, sign(b"some-other-key-0123456789", "x", body))):
        base = f"refs/conductor/work/ghost-{number}/main/step_001/1"
        files = {"task.json": body, **({"signature": signature.encode()} if signature else {})}
        tree_input = ""
        for name, data in files.items():
            oid = git(remote, "hash-object", "-w", "--stdin", input=data.decode()).strip()
            tree_input += f"100644 blob {oid}\t{name}\n"
        tree = git(remote, "mktree", input=tree_input).strip()
        head = git(remote, "rev-parse", "HEAD").strip()
        commit = git(remote, "commit-tree", tree, "-p", head, "-m", "a task nobody signed").strip()
        git(remote, "update-ref", f"{base}/task", commit)
    command = f"touch {marker}"
    result = run_process(
        conductor_bin(), "worker", "--remote", "origin", "--exec", command, "--once", "--json", cwd=clone
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["done"] == [] and len(report["skipped"]) == 2
    assert "is not signed with this worker's key (CONDUCTOR_QUEUE_KEY)" in result.err
    assert not marker.exists()
    assert not [ref for ref in Queue(proj.root, "origin").listing() if ref.endswith("/claim")]

    unkeyed = {k: v for k, v in os.environ.items() if k != "CONDUCTOR_QUEUE_KEY"}
    refused = run_process(
        conductor_bin(), "worker", "--remote", "origin", "--exec", command, "--once", cwd=clone, env=unkeyed
    )
    assert refused.code == 1 and "CONDUCTOR_QUEUE_KEY is not set" in refused.err
