"""Hostile data through every channel by which something comes back to Conductor — a command
agent's result file, an outside agent's result in the mailbox, a remote worker's claim and
result commit, a task a worker takes from the queue — through the real CLI: each is refused
with its reason (models/untrusted.py, docs/security.md), never an internal error (exit 3),
and the plan ends or goes on; `resume` and `status` work on it afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from conductor.executors.queue import Queue
from conductor.executors.queuekey import queue_key, sign
from tests.conftest import (
    PYTHON,
    SANDBOX_MODES,
    Result,
    conductor_bin,
    conductor_with,
    git,
    run_process,
    wait_until,
)
from tests.runner.test_handoff import QUICK
from tests.runner.test_remote import QUICK as QUICK_REMOTE
from tests.scenario import Project, build_until_started

pytestmark = pytest.mark.slow  # plans run through the CLI, a coordinator and workers in processes

STEP = {"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]}
VALID = {
    "task_id": "step_001",
    "attempt": 1,
    "status": "completed",
    "summary": "done",
    "files_changed": ["a.txt"],
}
DEEP = b"[" * 100_000 + b"]" * 100_000
ESCAPE = "\x1b]52;c;cHduZWQ=\x07\x1b[2J"  # OSC 52 (write the clipboard), then clear the screen


def result_with(**fields: object) -> bytes:
    return json.dumps({**VALID, **fields}).encode()


def with_raw(field: str, literal: bytes) -> bytes:
    """A result whose `field` is the JSON text `literal`, as it is."""
    return result_with(**{field: 0}).replace(f'"{field}": 0'.encode(), f'"{field}": '.encode() + literal)


# what an agent may write as its result file, and words of the reason it is refused
RESULTS: dict[str, tuple[bytes | str, str]] = {
    "deep_nesting": (DEEP, "nested 100000 levels deep (at most 64)"),
    "deep_nesting_in_a_field": (with_raw("files_changed", DEEP), "nested 100001 levels deep"),
    "a_5000_digit_attempt": (with_raw("attempt", b"9" * 5000), "a number of 5000 characters (at most 64)"),
    "a_5000_digit_token_count": (
        with_raw("tokens", b'{"input": ' + b"7" * 5000 + b"}"),
        "a number of 5000 characters",
    ),
    "a_huge_string": (result_with(summary="x" * 2_000_000), "over the 1048576-byte limit"),
    "a_long_summary": (result_with(summary="x" * 500_000), "summary: String should have at most 2000"),
    "nan": (with_raw("cost", b"NaN"), "NaN is not a JSON number"),
    "infinity": (with_raw("cost", b"-Infinity"), "-Infinity is not a JSON number"),
    "an_overflowing_float": (with_raw("cost", b"1e999"), "a number too large to represent"),
    "duplicate_keys": (
        result_with().replace(b'"attempt": 1', b'"attempt": 1, "attempt": 9'),
        "the key 'attempt' appears twice",
    ),
    "invalid_utf8": (result_with(summary="caf").replace(b"caf", b"caf\xe9"), "not UTF-8 text (byte 0xe9"),
    "a_lone_surrogate": (result_with(summary="x").replace(b'"x"', b'"\\ud800"'), "lone surrogate"),
    "a_terminal_escape": (result_with(summary=ESCAPE), "summary: must not contain control characters"),
    "a_bool_for_a_number": (result_with(attempt=True), "attempt: must be a valid integer (it is True)"),
    "an_array": (b"[]", "must be a JSON object"),
    "a_fifo": ("fifo", "step_001.result.json is not a regular file"),
    "a_symlink": ("symlink", "step_001.result.json is a symbolic link"),
}

AGENT = """\
import os, pathlib, sys
kind = sys.argv[1]
result = pathlib.Path(os.environ["CONDUCTOR_RESULT_DIR"], os.environ["CONDUCTOR_STEP"] + ".result.json")
pathlib.Path("a.txt").write_text("a\\n")
if kind == "fifo":
    os.mkfifo(result)
elif kind == "symlink":
    os.symlink("/etc/passwd", result)
else:
    result.write_bytes(pathlib.Path("hostile/payload.bin").read_bytes())
"""


def hostile_plan(proj: Project, payload: bytes | str, *, attempts: int = 1) -> tuple[str, str]:
    """A plan of one step whose agent hands back `payload` (bytes, or "fifo" or "symlink"); the
    agent and its payload are committed, so the agent finds them in its worktree."""
    folder = proj.root / "hostile"
    folder.mkdir(exist_ok=True)
    (folder / "agent.py").write_text(AGENT)
    (folder / "payload.bin").write_bytes(payload if isinstance(payload, bytes) else b"")
    git(proj.root, "add", "hostile")
    git(proj.root, "commit", "-q", "-m", "the hostile agent")
    plan = proj.plan(
        [STEP], policy={"behavior": {"max_attempts": attempts}}, name=f"plan-{time.time_ns()}.yaml"
    )
    kind = payload if isinstance(payload, str) else "bytes"
    return plan, f"{PYTHON} hostile/agent.py {kind}"


def ends_cleanly(proj: Project, run_cli, result: Result, plan: str | None = None) -> None:
    """The plan failed as a plan fails (exit 1, no crash), and everything still works on it."""
    assert result.code == 1, result.err
    assert "internal error" not in result.err and "Traceback" not in result.err, result.err
    plan = plan or proj.ledger().plans()[-1]
    resumed = run_cli("resume", plan)
    assert resumed.code == 1 and "failed; nothing to resume" in resumed.err, resumed.err
    assert run_cli("status").code == 0
    assert run_cli("explain", "step_001", "--plan", plan).code == 0
    assert run_cli("events", "--plan", plan).code == 0


def reasons(proj: Project, plan: str | None = None) -> list[str]:
    """Why each attempt of step_001 failed, as its verdict says (with its evidence)."""
    plan = plan or proj.only_plan()
    found = []
    for event in proj.events(plan):
        if event.type.value in ("task.rejected", "task.failed") and event.attempt is not None:
            verdict = json.loads(proj.record(f"evidence/step_001/attempt_{event.attempt}/verdict.json", plan))
            found.append(" | ".join([verdict["reason"], *verdict["evidence"]]))
    return found


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
@pytest.mark.parametrize("name", sorted(RESULTS))
def test_a_command_agents_hostile_result_is_rejected_with_its_reason(
    proj: Project, run_cli, name: str, sandbox: str
) -> None:
    payload, words = RESULTS[name]
    proj.sandbox(sandbox)
    plan, command = hostile_plan(proj, payload)
    result = run_cli("build", "--plan", plan, "--exec", command, "--yes")
    ends_cleanly(proj, run_cli, result)
    (reason,) = reasons(proj)
    assert words in reason, reason
    assert "Invalid result" in result.err


HOSTILE_BYTES = st.one_of(
    st.binary(max_size=64),
    st.tuples(st.integers(65, 200_000), st.sampled_from([b"[", b'{"a":'])).map(
        lambda spec: result_with(files_changed=[]).replace(b"[]", spec[1] * spec[0])
    ),
    st.tuples(st.sampled_from(["attempt", "cost", "tokens"]), st.integers(65, 20_000)).map(
        lambda spec: with_raw(spec[0], b"1" * spec[1])
    ),
    st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b'"\\udc00"', b"[" * 64 + b"]" * 64]).map(
        lambda literal: with_raw("cost", literal)
    ),
    st.lists(
        st.sampled_from([b"[", b"{", b'"', b"\\", b"9" * 80, b"\xff", b"NaN", b":", b","]), max_size=40
    ).map(b"".join),
)


# Derandomized, so a CI run is reproducible; CONDUCTOR_PROPERTY_EXAMPLES=100 searches further.
@settings(
    max_examples=int(os.environ.get("CONDUCTOR_PROPERTY_EXAMPLES", "8")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=HOSTILE_BYTES)
def test_any_hostile_bytes_as_a_command_result_end_in_a_rejection(
    proj: Project, run_cli, payload: bytes
) -> None:
    plan, command = hostile_plan(proj, payload)
    result = run_cli("build", "--plan", plan, "--exec", command, "--yes")
    ends_cleanly(proj, run_cli, result)
    assert "Invalid result" in result.err, result.err


def handoff_dir(proj: Project) -> Path:
    (plan_dir,) = (proj.root / ".conductor" / "handoff").glob("plan_*")
    return plan_dir / "fork_main"


def hand_in(folder: Path, payload: bytes | str) -> None:
    """Write the result as an outside agent would: renamed into place (or a FIFO, a link)."""
    target = folder / "step_001.result.json"
    if payload == "fifo":
        os.mkfifo(target)
    elif payload == "symlink":
        target.symlink_to("/etc/passwd")
    else:
        assert isinstance(payload, bytes)
        (folder / ".tmp").write_bytes(payload)
        (folder / ".tmp").rename(target)


HANDED_IN = [  # at most MAX_REFUSALS (10): each is refused, and the attempt goes on
    "deep_nesting",
    "a_5000_digit_attempt",
    "a_huge_string",
    "nan",
    "duplicate_keys",
    "invalid_utf8",
    "a_terminal_escape",
    "a_fifo",
    "a_symlink",
]


def test_an_outside_agents_hostile_results_are_refused_and_the_attempt_goes_on(
    proj: Project, run_cli
) -> None:
    plan = proj.plan([STEP])
    proc = subprocess.Popen(
        [*conductor_with(QUICK), "build", "--plan", plan, "--executor", "handoff", "--yes"],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: list(
                (proj.root / ".conductor" / "handoff").glob("plan_*/fork_main/pending/step_001.task.json")
            ),
            timeout=60,
            what="the task handed out",
        )
        completed = handoff_dir(proj) / "completed"
        task = json.loads((handoff_dir(proj) / "pending" / "step_001.task.json").read_text())
        (Path(task["workspace"]) / "a.txt").write_text("a\n")
        for number, name in enumerate(HANDED_IN, start=1):
            hand_in(completed, RESULTS[name][0])
            refused = completed / f"step_001.result.json.rejected-{number}"
            wait_until(lambda refused=refused: os.path.lexists(refused), timeout=30, what=f"{name} refused")
        hand_in(completed, result_with())
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "internal error" not in err
    refusals = [e for e in proj.events() if e.type.value == "result.refused"]
    assert len(refusals) == len(HANDED_IN)
    for event, name in zip(refusals, HANDED_IN, strict=True):
        problems = " | ".join(event.data["problems"])
        assert RESULTS[name][1] in problems, (name, problems)
    assert ESCAPE not in err  # the refused summary is never shown as it is
    kinds = [e.type.value for e in proj.events()]
    assert kinds.count("task.created") == 1 and "task.completed" in kinds  # one attempt, accepted
    assert git(proj.root, "show", f"{proj.branch()}:a.txt") == "a\n"
    assert run_cli("status").code == 0 and run_cli("explain", "step_001").code == 0


@pytest.fixture
def shared(proj: Project, tmp_path: Path) -> tuple[Project, Path]:
    """The project pushed to a bare remote, and a (hostile) worker's clone of it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(proj.root, "remote", "add", "origin", str(remote))
    git(proj.root, "push", "-q", "origin", "HEAD")
    clone = tmp_path / "worker"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    return proj, clone


class Plumber:
    """A hostile worker: objects made with git plumbing in its clone, pushed to any queue ref."""

    def __init__(self, clone: Path) -> None:
        self.clone = clone
        self.queue = Queue(clone, "origin")

    def blob(self, data: bytes) -> str:
        return (
            subprocess.run(
                ["git", "hash-object", "-w", "--stdin"],
                cwd=self.clone,
                input=data,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )

    def tree(self, entries: dict[str, tuple[str, str]]) -> str:
        """A tree of name -> (mode, object)."""
        kinds = {"040000": "tree", "100644": "blob"}
        lines = "".join(f"{mode} {kinds[mode]} {oid}\t{name}\n" for name, (mode, oid) in entries.items())
        return git(self.clone, "mktree", input=lines).strip()

    def files(self, files: dict[str, bytes]) -> str:
        return self.tree({name: ("100644", self.blob(data)) for name, data in files.items()})

    def commit(self, tree: str, *parents: str) -> str:
        args = [arg for parent in parents for arg in ("-p", parent)]
        return git(self.clone, "commit-tree", tree, *args, "-m", "crafted").strip()

    def push(self, oid: str, ref: str) -> None:
        git(self.clone, "push", "-q", "origin", f"{oid}:{ref}")

    def next_task(self, attempt: int) -> tuple[str, str]:
        """The slot and task commit of `attempt` of step_001, once it is queued (fetched)."""
        found: dict[str, str] = {}

        def queued() -> bool:
            found.update(
                {r: c for r, c in self.queue.listing().items() if r.endswith(f"/step_001/{attempt}/task")}
            )
            return bool(found)

        wait_until(queued, timeout=60, what=f"attempt {attempt} queued")
        ((ref, commit),) = found.items()
        self.queue.fetch(ref)
        return ref.removesuffix("/task"), commit


CLAIM = {"name": "mallory", "claimed_at": 1.0}


def claim(
    plumber: Plumber, slot: str, task: str, worker: bytes | None = None, *, ref_to: str | None = None
) -> None:
    """Push a claim of `slot`: a commit whose worker.json is `worker`, or the object `ref_to`."""
    raw = worker if worker is not None else json.dumps(CLAIM).encode()
    plumber.push(ref_to or plumber.commit(plumber.files({"worker.json": raw}), task), f"{slot}/claim")


def result(plumber: Plumber, slot: str, task: str, tree: str, *, parent: bool = True) -> None:
    """Push a result of `slot` whose tree is `tree`: on a code commit (no change to the code the
    task starts from), or on none."""
    code = plumber.commit(git(plumber.clone, "rev-parse", f"{task}^^{{tree}}").strip(), f"{task}^")
    plumber.push(plumber.commit(tree, *([code] if parent else [])), f"{slot}/result")


EXPLANATION = b"# step_001\n\ncrafted\n"
# attempt by attempt: what the hostile worker pushes, and words of the reason the attempt fails
CLAIMS: list[tuple[str, object, str]] = [
    (
        "a claim with a key of its own",
        {**CLAIM, "command": "rm -rf /"},
        "command: not a field of a worker.json",
    ),
    ("a deep claim", b"[" * 30_000 + b"]" * 30_000, "nested 30000 levels deep (at most 64)"),  # 60 KB
    (
        "a 5000-digit time",
        b'{"name": "m", "claimed_at": ' + b"1" * 5000 + b"}",
        "a number of 5000 characters",
    ),
    ("a name with escapes", {**CLAIM, "name": f"evil{ESCAPE}"}, "name: must not contain control characters"),
    ("a huge claim", b'{"name": "m", "claimed_at": 1' + b" " * 200_000 + b"}", "over the 65536-byte limit"),
    ("a claim that is a blob", "blob", "is not a commit"),
]
RESULT_COMMITS: list[tuple[str, object, str]] = [
    ("no parent", "orphan", "has no parent (the code the worker changed)"),
    ("no result.json", {"explanation.md": EXPLANATION}, "has no result.json"),
    ("result.json is a tree", "tree", "has a tree at result.json, not a file"),
    ("a huge result.json", {"result.json": b"0" * 2_000_000}, "is over the 1048576-byte limit"),
    ("a deep result.json", {"result.json": DEEP}, "nested 100000 levels deep"),
    (
        "a duplicate key",
        {"result.json": result_with().replace(b'"attempt": 1', b'"attempt": 1, "attempt": 1')},
        "appears twice",
    ),
    (
        "a 5000-digit attempt",
        {"result.json": with_raw("attempt", b"9" * 5000)},
        "a number of 5000 characters",
    ),
]

AGENTS = [  # a worker's agent's result: the payload (100,000-deep nesting), and a symbolic link
    ("bytes", "step_001.result.json: nested 100000 levels deep"),
    ("symlink", "left a result the worker will not read: step_001.result.json is a symbolic link"),
]


def crafted(plumber: Plumber, attempt: int, case: tuple[str, object, str], *, is_claim: bool) -> None:
    slot, task = plumber.next_task(attempt)
    _, what, _ = case
    if is_claim:
        if what == "blob":
            claim(plumber, slot, task, ref_to=plumber.blob(b'{"name": "m", "claimed_at": 1}'))
        else:
            claim(plumber, slot, task, what if isinstance(what, bytes) else json.dumps(what).encode())
        return
    claim(plumber, slot, task)
    ok = {"result.json": result_with(attempt=attempt), "explanation.md": EXPLANATION}
    if what == "orphan":
        result(plumber, slot, task, plumber.files(ok), parent=False)
    elif what == "tree":
        inner = plumber.files({"x": b"x"})
        explanation = ("100644", plumber.blob(EXPLANATION))
        result(
            plumber,
            slot,
            task,
            plumber.tree({"result.json": ("040000", inner), "explanation.md": explanation}),
        )
    else:
        assert isinstance(what, dict)
        result(plumber, slot, task, plumber.files(what))


def test_a_workers_hostile_claims_and_result_commits_are_rejected_attempts(
    shared: tuple[Project, Path], run_cli
) -> None:
    """Each crafted claim or result commit fails its attempt with the reason (the coordinator
    neither crashes nor waits on it); the next attempt is queued, and an honest worker does it."""
    proj, clone = shared
    cases = [(c, True) for c in CLAIMS] + [(c, False) for c in RESULT_COMMITS]
    plan, hostile = hostile_plan(proj, DEEP, attempts=len(cases) + len(AGENTS) + 1)
    odd = "refs/conductor/work/odd/main/step_001/\u00b2/task"  # swept over: "²".isdigit(), not int()
    git(proj.root, "push", "-q", "origin", f"HEAD:{odd}")
    coordinator = subprocess.Popen(
        [*conductor_with(QUICK_REMOTE), "build", "--plan", plan, "--remote", "origin", "--yes", "--json"],
        cwd=proj.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    plumber = Plumber(clone)
    try:
        for attempt, (case, is_claim) in enumerate(cases, start=1):
            crafted(plumber, attempt, case, is_claim=is_claim)
        # then honest workers whose agents are not: their results are judged here all the same
        honest = proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}]})
        agents = [hostile.replace(" bytes", f" {kind}") for kind, _ in AGENTS] + [honest]
        for attempt, command in enumerate(agents, start=len(cases) + 1):
            plumber.next_task(attempt)
            worked = run_process(
                conductor_bin(),
                "worker",
                "--remote",
                "origin",
                "--exec",
                command,
                "--once",
                "--name",
                "honest",
                cwd=clone,
            )
            assert worked.code == 0, worked.err
        _, err = coordinator.communicate(timeout=120)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.communicate()
    assert coordinator.returncode == 0, err
    assert "internal error" not in err and ESCAPE not in err
    found = reasons(proj)
    expected = [words for (_, _, words), _ in cases] + [words for _, words in AGENTS]
    assert len(found) == len(expected), found
    for reason, words in zip(found, expected, strict=True):
        assert words in reason, reason
    claims = [e.data["worker"] for e in proj.events() if e.type.value == "task.claimed"]
    allowed = {
        "name",
        "host",
        "claimed_at",
        "queued_at",
        "waited_seconds",
        "dispatch_seconds",
        "executor",
        "remote",
        "note",
    }
    assert all(set(c) <= allowed for c in claims), claims  # only the fields a claim may have
    assert "rm -rf /" not in json.dumps([e.data for e in proj.events()])
    assert claims[-1]["name"] == "honest"
    assert git(proj.root, "show", f"{proj.branch()}:a.txt") == "a\n"
    assert list(Queue(proj.root, "origin").listing()) == [odd]  # the attempts' refs went
    assert run_cli("status").code == 0 and run_cli("explain", "step_001").code == 0


def test_a_worker_refuses_hostile_tasks_and_odd_refs_and_says_why(shared: tuple[Project, Path]) -> None:
    """Anyone who can push to the queue can queue a task: a worker reads it within bounds; one
    it cannot take is answered with a failed result that says why, and refs that only look like
    queue refs are passed over."""
    _, clone = shared
    plumber = Plumber(clone)
    head = git(clone, "rev-parse", "HEAD").strip()
    task = {
        "task_id": "step_001",
        "instruction": "Write a.txt",
        "allowed_files": ["a.txt"],
        "timeout_seconds": 60,
        "confidence": {"score": 0.9},
    }
    key = queue_key()  # signed as a coordinator sharing the worker's key would: the worker reads them

    def signed(plan: str, body: bytes) -> str:
        slot = f"refs/conductor/work/{plan}/main/step_001/1"
        return plumber.files({"task.json": body, "signature": sign(key, slot, body).encode()})

    tasks = {
        "deep": (signed("deep", DEEP), "nested 100000 levels deep"),
        "digits": (
            signed("digits", json.dumps(task).replace("60", "6" * 5000).encode()),
            "a number of 5000 characters",
        ),
        "extra": (
            signed("extra", json.dumps({**task, "run": "rm -rf /"}).encode()),
            "run: not a field",
        ),
    }
    for plan, (tree, _) in tasks.items():
        plumber.push(plumber.commit(tree, head), f"refs/conductor/work/{plan}/main/step_001/1/task")
    # too big to read even for its signature: passed over, never read whole
    plumber.push(
        plumber.commit(signed("huge", b" " * 5_000_000), head),
        "refs/conductor/work/huge/main/step_001/1/task",
    )
    plumber.push(head, "refs/conductor/work/odd/main/step_001/\u00b2/task")  # "²".isdigit(), not int()
    body = json.dumps(task).encode()
    valid = plumber.files(
        {
            "task.json": body,
            "signature": sign(key, "refs/conductor/work/orphan/main/step_001/1", body).encode(),
        }
    )
    plumber.push(plumber.commit(valid), "refs/conductor/work/orphan/main/step_001/1/task")

    worked = run_process(
        conductor_bin(), "worker", "--remote", "origin", "--exec", "true", "--once", "--json", cwd=clone
    )

    assert worked.code == 0, worked.err
    assert "internal error" not in worked.err
    assert "has no parent (the code it starts from)" in worked.err
    listing = plumber.queue.listing()
    for plan, (_, words) in tasks.items():
        ref = f"refs/conductor/work/{plan}/main/step_001/1/result"
        assert ref in listing, (plan, worked.err)
        plumber.queue.fetch(ref)
        said = json.loads(git(clone, "show", f"{listing[ref]}:result.json"))
        assert said["status"] == "failed" and words in said["summary"], said
    assert not any("/odd/" in ref for ref in listing if not ref.endswith("/task"))
    assert "refs/conductor/work/huge/main/step_001/1" in json.loads(worked.out)["skipped"]


@pytest.mark.parametrize("planted", [DEEP, b'{"pgid": ' + b"9" * 5000 + b"}", "fifo"])
def test_a_worker_file_planted_in_the_mailbox_does_not_stop_resume(
    proj: Project, run_cli, planted: bytes | str
) -> None:
    """Without a sandbox an agent can write the mailbox, where Conductor notes the process it
    started (`in_progress/step_NNN.worker.json`), read again by `resume` after a crash."""
    proj.sandbox("off")
    plan = proj.plan([STEP], policy={"behavior": {"max_attempts": 2}})
    script = {
        "step_001": {
            "1": [{"write": {"a.txt": "half\n"}}, {"marker": "started"}, {"sleep": 60}],
            "*": [{"write": {"a.txt": "a\n"}}],
        }
    }
    proc = build_until_started(proj, plan, script)
    proc.send_signal(signal.SIGKILL)  # Conductor stops; the agent, in a session of its own, runs on
    proc.communicate(timeout=30)
    agent = int((proj.worktree() / "started").read_text())
    worker = handoff_dir(proj) / "in_progress" / "step_001.worker.json"
    worker.unlink()
    if planted == "fifo":
        os.mkfifo(worker)
    else:
        assert isinstance(planted, bytes)
        worker.write_bytes(planted)
    try:
        resumed = run_process(conductor_bin(), "resume", "--yes", cwd=proj.root, timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(agent, signal.SIGKILL)
    assert resumed.code == 0, resumed.err
    failed = [e for e in proj.events() if e.type.value == "task.failed"]
    assert len(failed) == 1 and failed[0].data["kind"] == "interrupted"
    assert git(proj.root, "show", f"{proj.branch()}:a.txt") == "a\n"
