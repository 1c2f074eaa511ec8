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

import json
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError
from conductor.executors import queuekey
from conductor.executors.command import CommandExecutor
from conductor.executors.preflight import Where, check_command
from conductor.executors.queue import CAP_SECONDS, QUEUED_AT, Backoff, Queue, claim_order
from conductor.executors.registry import Agent
from conductor.ledger import refs
from conductor.ledger.refs import WORK_CLAIM, WORK_TASK
from conductor.models import layout, untrusted
from conductor.models.claim import HOST_MAX, WorkerClaim
from conductor.models.untrusted import UntrustedError
from conductor.policy.project import effective
from conductor.progress import say
from conductor.project import find_root
from conductor.runner.remote.job import TASK_LIMIT, do_task, give_up
from conductor.sandbox.confinement import exposed_paths, isolate

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
                give_up(queue, base, task_commit, worker, f"the worker {worker} could not do it: {exc}")
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
