"""One queued task done by a worker (runner/remote/worker.py claims it): a worktree of its own
at the code the step starts from, the command run there under this clone's confinement, what it
changed outside its workspace put back, and its result — the command's, or a failure the worker
writes itself — committed on the code and pushed to the queue.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pathspec

from conductor import secrets
from conductor.errors import ConductorError
from conductor.executors.base import Assignment, Outcome
from conductor.executors.command import CommandExecutor
from conductor.executors.queue import Queue
from conductor.gitcli import git_text
from conductor.ledger import refs
from conductor.ledger.refs import WORK_RESULT, WORK_TASK
from conductor.mailbox import Mailbox
from conductor.models import layout, untrusted
from conductor.models.result import ResultFile, ResultStatus
from conductor.models.task import TaskFile
from conductor.models.untrusted import UntrustedError
from conductor.policy.effective import EffectivePolicy
from conductor.policy.project import effective
from conductor.project import private_state, state_home
from conductor.runner.place.workspace import environment as workspace_env
from conductor.sandbox import fingerprint
from conductor.sandbox.confinement import Confinement, exposed_paths, isolate
from conductor.sandbox.limits import Limits

WORKTREES = threading.Lock()  # one `git worktree add`/`remove` at a time in this process
TASK_LIMIT = 4 * 1024 * 1024  # bytes of a queued task.json (a task is a few KiB)


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
    policy = effective(queue.root)  # once per task: the clone's policy may change between tasks
    git_dir = _git_dir(queue.root)
    private = private_state(queue.root, git_dir, configured=policy.worktrees)
    jobs = private / "worker"
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
        confinement = _confinement(queue.root, workspace, policy, git_dir, private)
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
        _push_result(queue, base, code, worker, outcome.value, step, attempt, result, explanation)
        status = _status(result)
        say_fn(f"worker {worker}: {plan}/{fork} {step} attempt {attempt}: {status}, result pushed")
        return {"plan": plan, "fork": fork, "step": step, "attempt": attempt, "status": status}
    finally:
        with WORKTREES:
            queue.git("worktree", "remove", "--force", str(workspace))
        shutil.rmtree(scratch, ignore_errors=True)


def give_up(queue: Queue, base: str, task_commit: str, worker: str, reason: str) -> None:
    """Push a failed result, without changes, for a claimed task this worker cannot do (unless
    its result is there already)."""
    parsed = refs.parse_work_ref(f"{base}/{WORK_TASK}")
    assert parsed is not None
    step, attempt = parsed[2], parsed[3]
    result, explanation = _failed(step, attempt, reason)
    with contextlib.suppress(ConductorError):  # else the coordinator times the attempt out
        code = queue.parent(task_commit)
        if code is not None:
            _push_result(queue, base, code, worker, "error", step, attempt, result, explanation)


def _push_result(
    queue: Queue,
    base: str,
    code: str,
    worker: str,
    outcome: str,
    step: str,
    attempt: int,
    result: str,
    explanation: str,
) -> None:
    """Commit the result, its explanation and who did it on `code` (the work's commit) and push
    it as the task's result."""
    files = {
        layout.QUEUE_RESULT: result.encode(),
        layout.QUEUE_EXPLANATION: explanation.encode(),
        layout.QUEUE_WORKER: json.dumps({"name": worker, "outcome": outcome}).encode(),
    }
    report = queue.commit(files, parent=code, message=f"result of {step} attempt {attempt} by {worker}\n")
    queue.create(f"{base}/{WORK_RESULT}", report)


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


def _confinement(
    root: Path, workspace: Path, policy: EffectivePolicy, git_dir: Path, private: Path
) -> Confinement:
    """The worker's command is confined as a local step is, by this clone's own policy (`private`:
    its private state directory, conductor.project.private_state)."""
    secrets.declare(policy.secret_names)
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
