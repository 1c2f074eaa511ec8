"""A worker (`conductor worker --remote NAME --exec CMD`): do queued steps for plans run elsewhere.

Run it in a clone of the repository on any machine that can push to the shared remote. It
fetches the queue, claims a task by an atomic compare-and-swap push (so no task is done
twice), runs CMD on it under the same file contract as the command executor, in a worktree
of its own at the code the step starts from, and pushes the result. The machine that runs
the plan verifies the result against its policy and commits it.

Workers that look at the same queue try its open tasks in orders of their own (a hash of the
worker's name and the task: `claim_order`), so they mostly claim different tasks; a claim lost
to another worker frees its job slot, and the next look, at once, moves on to the next task.
Between looks, a worker pauses 0.05 s after a change and 1.5 times as long each time nothing
changed, up to `--poll` (`Backoff`). With `--jobs N` it does up to N tasks at once, each in a
thread (which claims it, runs the command, then pushes the result while the next is claimed)
with a worktree of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec

from conductor import secrets
from conductor.errors import ConductorError
from conductor.executors import queuekey
from conductor.executors.base import Assignment, Outcome
from conductor.executors.command import CommandExecutor
from conductor.executors.preflight import Where, check_command
from conductor.executors.queue import CAP_SECONDS, QUEUED_AT, Backoff, Queue, claim_order
from conductor.executors.registry import Agent
from conductor.gitcli import git_text
from conductor.ledger import refs
from conductor.ledger.refs import WORK_CLAIM, WORK_RESULT, WORK_TASK
from conductor.mailbox import Mailbox
from conductor.models import layout, untrusted
from conductor.models.claim import HOST_MAX, WorkerClaim
from conductor.models.result import ResultFile, ResultStatus
from conductor.models.task import TaskFile
from conductor.models.untrusted import UntrustedError
from conductor.policy.project import effective
from conductor.progress import say
from conductor.project import find_root, private_state, state_home
from conductor.runner.place.workspace import environment as workspace_env
from conductor.sandbox import fingerprint
from conductor.sandbox.confinement import Confinement, exposed_paths, isolate
from conductor.sandbox.limits import Limits

WORKTREES = threading.Lock()  # one `git worktree add`/`remove` at a time in this process
TASK_LIMIT = 4 * 1024 * 1024  # bytes of a queued task.json (a task is a few KiB)
COMMIT_LIMIT = 64 * 1024  # bytes of a task commit whose message is read (its Queued-At trailer)


@dataclass
class WorkerRun:
    """What a worker did: the tasks it did (each with its timing), the claims it lost."""

    done: list[dict[str, Any]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # claims another worker won
    skipped: list[str] = field(default_factory=list)  # tasks not signed with this worker's key


def signed(queue: Queue, key: bytes, base: str, task_commit: str) -> bool:
    """Whether the task of `base` carries a signature this worker's key verifies."""
    try:
        task = queue.read(task_commit, layout.QUEUE_TASK, limit=TASK_LIMIT, what="the queued task")
        signature = queue.read(task_commit, queuekey.SIGNATURE_FILE, limit=256, what="the queued task")
    except UntrustedError:
        return False
    return queuekey.verify(key, base, task, signature)


def open_slots(listing: dict[str, str]) -> list[str]:
    """Queue slots with a task and neither a claim nor a result, oldest name first."""
    kinds: dict[str, set[str]] = {}
    for ref in listing:
        parsed = refs.parse_work_ref(ref)
        if parsed is not None:
            kinds.setdefault(ref.rsplit("/", 1)[0], set()).add(parsed[4])
    return sorted(base for base, present in kinds.items() if present == {WORK_TASK})


def _as_agent(raw: bytes, worker: str) -> str:
    """The result, naming this worker as the agent (the commit author) unless it names one."""
    try:
        result = ResultFile.from_json(raw)
    except UntrustedError:
        return raw.decode("utf-8", "replace")  # the machine that runs the plan reports it
    if result.agent:
        return raw.decode("utf-8", "replace")
    return result.model_copy(update={"agent": worker}).to_json()


def _status(result: str) -> str:
    try:
        status = untrusted.load_object(result, name="result").get("status", "?")
    except UntrustedError:
        return "unreadable result"
    return status if status in ("completed", "failed") else "unreadable result"


def default_name() -> str:
    return f"{platform.node() or 'worker'}-{int(time.time()) % 100000}"


def work(
    *,
    remote: str,
    command: str | None = None,
    agent: Agent | None = None,
    name: str | None = None,
    once: bool = False,
    poll_seconds: float = CAP_SECONDS,
    jobs: int = 1,
    say_fn: Callable[[str], None] = say,
) -> WorkerRun:
    """Claim and do queued tasks, up to `jobs` at once, until stopped (or, with `once`, until a
    look at the queue finds nothing to claim and nothing is running)."""
    root = find_root()
    executor = _executor(root, command, agent)
    key = queuekey.queue_key()  # a worker runs only tasks signed with the key it shares
    queue = Queue(root, remote)
    queue.check_remote()
    worker = name or default_name()
    try:  # the name goes into every claim, which the coordinator reads strictly
        WorkerClaim(name=worker, claimed_at=0.0)
    except ValueError:
        raise ConductorError(
            f"the worker's name {untrusted.shown(worker)} cannot be used",
            hint="give --name one line of at most 100 characters, without control characters",
        ) from None
    report = WorkerRun()
    backoff = Backoff(cap=poll_seconds)
    commands: set[str] = set()  # slots whose command runs: at most `jobs`
    threads: dict[str, threading.Thread] = {}  # slot -> its thread, until its result is pushed
    lock = threading.Lock()  # guards report, commands and threads
    stop = threading.Event()
    freed = threading.Event()  # set when a command ends
    seen: dict[str, str] = {}  # the queue at the last look
    free_since = [time.time()]  # since when a job slot has been free (for the claim's timing)
    note = f", {jobs} at a time" if jobs > 1 else ""
    say_fn(f"worker {worker}: taking tasks from {remote} ({refs.WORK_PREFIX}*{note}); Ctrl-C to stop")

    def release(base: str) -> None:
        with lock:
            if base in commands and len(commands) >= jobs:
                free_since[0] = time.time()  # a job slot is free again from now
            commands.discard(base)
        freed.set()

    def claim(base: str, task_commit: str) -> dict[str, float] | None:
        """Claim the task of `base` (a push that fails if another worker's claim is there, or
        if the task was withdrawn), unless its signature does not verify; its timing, or None
        when lost or skipped."""
        try:
            queue.fetch(f"{base}/{WORK_TASK}")
        except ConductorError:
            return None  # withdrawn since the look (its attempt timed out)
        if not signed(queue, key, base, task_commit):
            with lock:
                first = base not in report.skipped
                if first:
                    report.skipped.append(base)
            if first:
                say_fn(
                    f"worker {worker}: skipping {base}: its task is not signed with this worker's key"
                    f" ({queuekey.KEY_VARIABLE}); only a coordinator that shares it queues tasks this"
                    " worker runs"
                )
            return None
        timing = _timing(queued_time(queue, task_commit), time.time(), free_since[0])
        # only the fields a claim may have: the coordinator refuses any other
        who = WorkerClaim(name=worker, host=platform.node()[:HOST_MAX], **timing)
        commit = queue.commit(
            {layout.QUEUE_WORKER: json.dumps(who.to_json()).encode()},
            parent=task_commit,
            message=f"claimed by {worker}\n",
        )
        if not queue.create(f"{base}/{WORK_CLAIM}", commit, requires={f"{base}/{WORK_TASK}": task_commit}):
            with lock:
                report.lost.append(base)
            say_fn(f"worker {worker}: {base} was claimed by another worker (or withdrawn); trying the next")
            return None
        return timing

    def run_one(base: str, task_commit: str) -> None:
        """Claim and do one task, in its own thread: so under --jobs, claims go out side by side."""
        timing = None
        try:
            timing = claim(base, task_commit)
            if timing is None:
                return
            done = do_task(
                queue, base, task_commit, executor, worker, say_fn, stop=stop, release=lambda: release(base)
            )
            with lock:
                report.done.append({**done, **timing})
        except Exception as exc:  # one task's trouble does not stop the others
            say_fn(f"worker {worker}: {base}: {exc}")
            if timing is not None:  # claimed: the coordinator hears of it now, not at the timeout
                _give_up(queue, base, task_commit, worker, f"the worker {worker} could not do it: {exc}")
        finally:
            release(base)
            with lock:
                threads.pop(base, None)

    try:
        while True:
            with lock:
                taken, free = set(threads), jobs - len(commands)
            started = False
            if free > 0:
                listing = queue.listing()
                if listing != seen:  # a change: the next look comes soon
                    backoff.reset()
                    seen = listing
                # one candidate a free job slot; a lost claim frees its slot, and the next look
                # (at once) moves on to the next candidate
                with lock:
                    skipped = set(report.skipped)  # not signed with this worker's key: never again
                open_now = [b for b in open_slots(listing) if b not in taken and b not in skipped]
                for base in claim_order(open_now, worker)[:free]:
                    thread = threading.Thread(
                        target=run_one, args=(base, listing[f"{base}/{WORK_TASK}"]), name=base
                    )
                    with lock:
                        commands.add(base)
                        threads[base] = thread
                    thread.start()
                    started = True
            with lock:
                idle, full = not threads, len(commands) >= jobs
            if once and not started and idle:
                return report
            if started and not full:
                backoff.reset()
                continue  # look again at once: more may be queued
            # all jobs busy: wait for a command to end (or a claim to be lost); else the pause,
            # cut short if one ends
            if freed.wait(None if full else backoff.next()):
                freed.clear()
                backoff.reset()
    except KeyboardInterrupt:
        stop.set()  # the running commands are stopped; their attempts are reported as failed
        raise
    finally:
        for thread in list(threads.values()):
            thread.join()


def queued_time(queue: Queue, task_commit: str) -> float | None:
    """When the coordinator queued the task (its `Queued-At:` trailer); None if not said."""
    found = queue.object(task_commit)
    if found is None or found[1] != "commit" or found[2] > COMMIT_LIMIT:
        return None  # not said in a way worth reading
    try:
        message = queue.git("log", "-1", "--format=%B", task_commit)
    except ConductorError:
        return None
    for line in message.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == QUEUED_AT:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _timing(queued_at: float | None, claimed_at: float, free_since: float) -> dict[str, float]:
    """When the task was queued and claimed, and the wait between (for the coordinator's
    `task.claimed` event and the worker's report): `waited_seconds` from queued to claimed,
    `dispatch_seconds` from when both the task and a free job slot of this worker were there."""
    out = {"claimed_at": round(claimed_at, 3)}
    if queued_at is not None:
        out["queued_at"] = round(queued_at, 3)
        out["waited_seconds"] = round(max(0.0, claimed_at - queued_at), 3)
        out["dispatch_seconds"] = round(max(0.0, claimed_at - max(queued_at, free_since)), 3)
    return out


def do_task(
    queue: Queue,
    base: str,
    task_commit: str,
    executor: CommandExecutor,
    worker: str,
    say_fn: Callable[[str], None],
    *,
    stop: threading.Event | None = None,
    release: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Do one claimed task and push its result. `release` is called once the command is over
    (and anything it changed outside its worktree put back): from then on the worker may start
    another command while this one's result is committed and pushed."""
    parsed = refs.parse_work_ref(f"{base}/{WORK_TASK}")
    assert parsed is not None
    plan, fork, step, attempt, _ = parsed
    # whoever can push to the queue wrote it: read within bounds, strictly (models/untrusted.py)
    task = queue.read_model(
        task_commit, layout.QUEUE_TASK, TaskFile, limit=TASK_LIMIT, what="the queued task"
    )
    parent = queue.parent(task_commit)
    if parent is None:
        raise UntrustedError([f"the queued task {task_commit[:12]} has no parent (the code it starts from)"])
    jobs = _private(queue.root) / "worker"
    jobs.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = Path(tempfile.mkdtemp(prefix="job-", dir=jobs))
    # a name of its own: git names the worktree's admin folder after it, and racing `worktree
    # add`s of one name (under --jobs) trip over each other's half-made folder
    workspace = scratch / f"workspace-{scratch.name.rsplit('-', 1)[-1]}"
    with WORKTREES:
        queue.git("worktree", "add", "--quiet", "--detach", str(workspace), parent)
    try:
        local = task.model_copy(update={"workspace": str(workspace)}).sealed()
        mailbox = Mailbox(scratch / "handoff", plan, fork)
        mailbox.hand_out(step, local.to_json())
        confinement = _confinement(queue.root, workspace)
        assignment = Assignment(
            task=local,
            mailbox=mailbox,
            workspace=workspace,
            deadline=time.time() + task.timeout_seconds,
            claimed=True,
            on_claim=lambda data: None,
            on_stale=lambda found, attempt: None,
            say=lambda text: say_fn(f"[{plan}/{fork}] {text}"),
            confinement=confinement,
        )
        if stop is not None:
            assignment.stop = stop
        # without a sandbox, this clone is watched as a local step's checkout is (fork/tripwire.py)
        before = None if confinement.isolated else fingerprint.take(queue.root, confinement.git_dir)
        command = executor.command
        outcome = executor.execute(assignment)
        outside = _undo(before, confinement, f"{plan}/{fork}/{step}.{attempt}", say_fn) if before else []
        release()
        found = mailbox.find_result(step)
        if outside:
            result, explanation = _failed(
                step,
                attempt,
                f"`{command}` changed the worker's repository outside its workspace (put back): "
                + ", ".join(outside),
            )
        elif outcome is Outcome.NOT_STARTED:
            result, explanation = _failed(step, attempt, f"on worker {worker}: {assignment.not_started}")
        elif outcome is not Outcome.RESULT or found is None:
            result, explanation = _failed(
                step,
                attempt,
                f"`{command}` {outcome.value} on worker {worker} after {task.timeout_seconds}s",
                f"The worker's command did not finish ({outcome.value}).",
            )
        elif found.problem is not None:  # a link, a FIFO, a file over the limit: never read
            unread = f"`{command}` left a result the worker will not read: {found.problem}"
            result, explanation = _failed(step, attempt, unread)
        else:
            result, explanation = _as_agent(found.result, worker), found.explanation
        _drop_scratch(queue, workspace, executor.scratch)
        queue.git("-C", str(workspace), "add", "--all")
        tree = queue.git("-C", str(workspace), "write-tree")
        code = queue.commit_tree(tree, parent=parent, message=f"work on {step} by {worker}\n")
        files = {
            layout.QUEUE_RESULT: result.encode(),
            layout.QUEUE_EXPLANATION: explanation.encode(),
            layout.QUEUE_WORKER: json.dumps({"name": worker, "outcome": outcome.value}).encode(),
        }
        report = queue.commit(files, parent=code, message=f"result of {step} attempt {attempt} by {worker}\n")
        queue.create(f"{base}/{WORK_RESULT}", report)
        status = _status(result)
        say_fn(f"worker {worker}: {plan}/{fork} {step} attempt {attempt}: {status}, result pushed")
        return {"plan": plan, "fork": fork, "step": step, "attempt": attempt, "status": status}
    finally:
        with WORKTREES:
            queue.git("worktree", "remove", "--force", str(workspace))
        shutil.rmtree(scratch, ignore_errors=True)


def _give_up(queue: Queue, base: str, task_commit: str, worker: str, reason: str) -> None:
    """Push a failed result, without changes, for a claimed task this worker cannot do (unless
    its result is there already)."""
    parsed = refs.parse_work_ref(f"{base}/{WORK_TASK}")
    assert parsed is not None
    step, attempt = parsed[2], parsed[3]
    result, explanation = _failed(step, attempt, reason)
    try:
        code = queue.git("rev-parse", f"{task_commit}^")
        files = {
            layout.QUEUE_RESULT: result.encode(),
            layout.QUEUE_EXPLANATION: explanation.encode(),
            layout.QUEUE_WORKER: json.dumps({"name": worker, "outcome": "error"}).encode(),
        }
        commit = queue.commit(files, parent=code, message=f"result of {step} attempt {attempt} by {worker}\n")
        queue.create(f"{base}/{WORK_RESULT}", commit)
    except ConductorError:
        pass  # the coordinator times the attempt out, as for a worker that stopped


def _failed(step: str, attempt: int, summary: str, explanation: str = "") -> tuple[str, str]:
    """A failed result the worker writes itself, and its explanation."""
    result = ResultFile(task_id=step, attempt=attempt, status=ResultStatus.FAILED, summary=summary)
    return result.to_json(), f"# {step}\n\n{explanation or summary}\n"


def _undo(
    before: fingerprint.Fingerprint, confinement: Confinement, name: str, say_fn: Callable[[str], None]
) -> list[str]:
    """What the command changed in this clone's repository outside its workspace (hooks,
    config, refs), put back; changed files of the clone's checkout are said, and left alone."""
    undone = fingerprint.undo(before, repo_root=confinement.repo_root, git_dir=confinement.git_dir)
    if undone.restored:
        say_fn(
            f"{name}: put back what the command changed outside its workspace: {', '.join(undone.restored)}"
        )
    if undone.checkout:
        say_fn(
            f"{name}: files of this clone's checkout changed meanwhile, left as they are:"
            f" {', '.join(undone.checkout)}"
        )
    return undone.changed


def _executor(root: Path, command: str | None, agent: Agent | None) -> CommandExecutor:
    """The command each task runs (--exec CMD, or --agent NAME's), checked as a plan checks it:
    a program that is not installed here stops the worker before it claims anything."""
    if (command is None) == (agent is None):
        raise ConductorError("a worker runs one command: give --exec CMD or --agent NAME (not both)")
    executor = agent.make() if agent is not None else CommandExecutor(str(command))
    assert isinstance(executor, CommandExecutor)
    policy = effective(root)
    isolated = isolate(policy.sandbox_mode)
    exposed = exposed_paths(root, os.environ, policy.exposed)
    check_command(executor.command, Where(root, None, isolated, exposed), install=_install(agent, root))
    return executor


def _install(agent: Agent | None, root: Path) -> str:
    if agent is None:
        return ""
    from conductor.executors.profiles import find

    return find(agent.name, root).spec.install


def _drop_scratch(queue: Queue, workspace: Path, patterns: Sequence[str]) -> None:
    """Remove the agent's new scratch files (its chat history): never part of the result."""
    if not patterns:
        return
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    listed = queue.git("-C", str(workspace), "ls-files", "-z", "--others", "--exclude-standard")
    for name in listed.split("\0"):
        if name and spec.match_file(name):
            target = workspace / name
            with contextlib.suppress(FileNotFoundError):
                target.unlink()


def _git_dir(root: Path) -> Path:
    return Path(git_text(["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=root))


def _private(root: Path) -> Path:
    """This clone's private state directory (conductor.project.private_state): the jobs' worktrees."""
    return private_state(root, _git_dir(root), configured=effective(root).worktrees)


def _confinement(root: Path, workspace: Path) -> Confinement:
    """The worker's command is confined as a local step is, by this clone's own policy."""
    policy = effective(root)
    secrets.declare(policy.secret_names)
    git_dir = _git_dir(root)
    private = private_state(root, git_dir, configured=policy.worktrees)
    return Confinement(
        workspace=workspace,
        repo_root=root,
        git_dir=git_dir,
        isolated=isolate(policy.sandbox_mode),
        network=tuple(network) if isinstance(network := policy.sandbox_network, list) else network,
        exposed=exposed_paths(root, os.environ, policy.exposed),
        env=tuple(workspace_env(policy.workspace_env, workspace, os.environ).items()),
        env_names=tuple(policy.sandbox_env),
        unix_sockets=policy.unix_sockets,
        limits=Limits(**policy.limits),
        scratch=private / "sandbox",
        hidden=tuple(dict.fromkeys([private.parent, state_home()])),  # the other jobs' too
    )
