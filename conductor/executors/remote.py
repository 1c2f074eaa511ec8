"""The remote executor: steps done by `conductor worker`s on other machines, through a work
queue on a shared git remote (see queue.py).

For each attempt it pushes the task (with the code it starts from), waits for a worker's
claim and then for its result, and brings the worker's changes into the fork's worktree as
file edits — as if an agent had made them there — so they are verified here, against this
repository's policy, like any other executor's work.

Once the result is in the mailbox (files on disk, from which a resumed run takes it), the
attempt's refs are deleted from the remote in one atomic push, so the queue holds open work
only; a timed-out attempt's refs go too, so no worker takes it up. Refs a crash or a failed
push left behind are swept at the next run of any plan with this remote: those of attempts
this repository's ledger has finished.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError
from conductor.executors import queuekey
from conductor.executors.base import Assignment, Outcome, Waiting
from conductor.executors.preflight import Where
from conductor.executors.queue import QUEUED_AT, Backoff, Queue
from conductor.executors.registry import KINDS
from conductor.gitcli import git_text
from conductor.ledger import refs
from conductor.ledger.refs import WORK_CLAIM, WORK_RESULT, WORK_TASK
from conductor.ledger.store import Ledger
from conductor.mailbox import write_atomic
from conductor.models import layout, untrusted
from conductor.models.claim import CLAIM_LIMIT, WorkerClaim
from conductor.models.defaults import MAX_CHANGE_BYTES, MAX_FILE_BYTES
from conductor.models.event import EventType
from conductor.models.layout import EXPLANATION, RESULT
from conductor.models.paths import escape_reason, printable, unstorable_reason
from conductor.models.result import SUMMARY_MAX, ResultFile, ResultStatus
from conductor.models.untrusted import UntrustedError

POLL_SECONDS = 1.0  # the longest pause between looks at the attempt's refs
FACTOR = 1.5  # each pause without a change is this much longer than the one before
REMIND_SECONDS = 60.0
# events that end an attempt's wait: its refs on the remote are no longer needed
ENDS_ATTEMPT = {
    EventType.RESULT_RECEIVED,
    EventType.TASK_COMPLETED,
    EventType.TASK_FAILED,
    EventType.TASK_REJECTED,
    EventType.TASK_TIMED_OUT,
}
ENDS_FORK = {EventType.FORK_COMPLETED, EventType.FORK_FAILED, EventType.FORK_ABANDONED}


SYMLINK_LIMIT = 4096  # the longest target a symbolic link may have (PATH_MAX)


def apply_changes(
    queue: Queue,
    workspace: Path,
    parent: str,
    commit: str,
    *,
    file_limit: int = MAX_FILE_BYTES,
    change_limit: int = MAX_CHANGE_BYTES,
) -> list[str]:
    """Make the files of `workspace` (checked out at `parent`) those of `commit`; the paths.

    Each blob's size is read from its header first: a file over `file_limit`
    (behavior.max_file_bytes), or files over `change_limit` together, refuse the change before
    any blob is inflated. The others are streamed into the workspace, never whole in memory."""
    out = queue.git("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, commit)
    fields = out.split("\0")
    entries = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if meta:
            _old_mode, new_mode, _old, blob, status = meta.lstrip(":").split(" ")
            entries.append((path, new_mode, blob, status))
    _check_sizes(queue, entries, file_limit=file_limit, change_limit=change_limit)
    changed = []
    for path, new_mode, blob, status in entries:
        reason = escape_reason(path) or unstorable_reason(path)
        target = workspace / path
        # checked as the change is applied: an earlier entry may have made a parent a symlink
        if reason is None and not target.parent.resolve().is_relative_to(workspace.resolve()):
            reason = "leads outside the workspace through a symbolic link"
        if reason is not None:
            raise ConductorError(f"the worker's change has a path that {reason}: {printable(path)}")
        if status != "D" and new_mode == "160000":
            raise ConductorError(f"the worker's change adds a submodule at {path}, which cannot be applied")
        try:
            _apply(queue, target, new_mode, blob, status)
        except OSError as exc:  # a file where the change has a folder, or the other way round
            raise ConductorError(
                f"the worker's change cannot be applied at {printable(path)}: {exc.strerror or exc}"
            ) from None
        changed.append(path)
    return changed


def _check_sizes(
    queue: Queue, entries: list[tuple[str, str, str, str]], *, file_limit: int, change_limit: int
) -> None:
    """Refuse a change with a file over `file_limit` or files over `change_limit` together, from
    the blobs' headers (`git cat-file --batch-check` inflates none of them)."""
    blobs = sorted({blob for _, mode, blob, status in entries if status != "D" and mode != "160000"})
    if not blobs:
        return
    wanted = "".join(f"{blob}\n" for blob in blobs).encode()
    listed = queue.git("cat-file", "--batch-check=%(objectname) %(objectsize)", stdin=wanted)
    sizes = {}
    for line in listed.splitlines():
        oid, _, shown = line.partition(" ")
        if not shown.isdigit():
            raise ConductorError(f"the worker's change names an object that is not here: {oid[:40]}")
        sizes[oid] = int(shown)
    total = 0
    for path, mode, blob, status in entries:
        if status == "D" or mode == "160000":
            continue
        size = sizes.get(blob, 0)
        if mode == "120000" and size > SYMLINK_LIMIT:
            raise ConductorError(
                f"the worker's change has a symbolic link {printable(path)} too long to make"
            )
        if size > file_limit:
            raise ConductorError(
                f"the worker's change has {printable(path)} of {size} bytes, over behavior.max_file_bytes"
                f" ({file_limit} bytes): not taken; split the file or the step, or raise"
                " behavior.max_file_bytes"
            )
        total += size
    if total > change_limit:
        raise ConductorError(
            f"the worker's change holds {total} bytes in its files, over behavior.max_change_bytes"
            f" ({change_limit} bytes): not taken; split the step, or raise behavior.max_change_bytes"
        )


def _apply(queue: Queue, target: Path, mode: str, blob: str, status: str) -> None:
    """One entry of the worker's change into the workspace, its size already checked."""
    if status == "D":
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    if mode == "120000":
        os.symlink(queue.blob(blob).decode("utf-8", "surrogateescape"), target)
    else:
        queue.copy_blob(blob, target)
        target.chmod(0o755 if mode == "100755" else 0o644)


class RemoteExecutor:
    name = "remote"
    capabilities = KINDS[name].capabilities
    scratch: tuple[str, ...] = ()
    network_hosts: tuple[str, ...] = ()

    def __init__(self, remote: str, *, poll_seconds: float | None = None) -> None:
        self.remote = remote
        self.poll_seconds = POLL_SECONDS if poll_seconds is None else poll_seconds
        self._lock = threading.Lock()  # forks run side by side with one executor
        self._swept = False

    def identity(self) -> tuple[str, str]:
        return (f"conductor worker (via {self.remote})", "remote-executor@conductor.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name, "remote": self.remote}

    def preflight(self, where: Where) -> None:
        """Nothing starts here: the remote was checked when the executor was made, and each
        worker checks its own command before it claims a task (runner/remote/worker.py)."""

    def execute(self, assignment: Assignment) -> Outcome:
        step, mailbox, task = assignment.step, assignment.mailbox, assignment.task
        # from the main checkout: git resolves a relative remote URL against the directory it runs in
        common = git_text(
            ["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=assignment.workspace
        )
        queue = Queue(Path(common).parent, self.remote)
        base = refs.work_slot(mailbox.plan, mailbox.fork, step, task.attempt)
        self._sweep_once(queue, assignment)
        present = queue.listing(f"{refs.WORK_PREFIX}{mailbox.plan}/{mailbox.fork}/*")
        # this fork does one attempt at a time: the refs of any other are leftovers
        self._remove(
            queue, {ref: c for ref, c in present.items() if not ref.startswith(f"{base}/")}, assignment
        )
        present = {ref: c for ref, c in present.items() if ref.startswith(f"{base}/")}
        if _delivered(assignment):  # taken before a crash; the mailbox has it
            self._remove(queue, present, assignment)
            return Outcome.RESULT
        parent = queue.git("-C", str(assignment.workspace), "rev-parse", "HEAD")
        if f"{base}/{WORK_TASK}" not in present:
            body = task.to_json().encode()
            signature = queuekey.sign(queuekey.queue_key(), base, body).encode()
            commit = queue.commit(
                {layout.QUEUE_TASK: body, queuekey.SIGNATURE_FILE: signature},
                parent=parent,
                message=f"conductor task {mailbox.plan}/{mailbox.fork}/{step} attempt {task.attempt}\n\n"
                f"{QUEUED_AT}: {time.time():.3f}\n",
            )
            queue.create(f"{base}/{WORK_TASK}", commit)
        again = "" if f"{base}/{WORK_TASK}" not in present else "already "
        assignment.say(
            f"{step}: {again}queued on {self.remote} ({base}); waiting for a worker:"
            f" conductor worker --remote {self.remote} --exec CMD ({assignment.timeout_note()})"
        )
        claimed = assignment.claimed
        waiting = Waiting(assignment, poll_seconds=self.poll_seconds, remind_seconds=REMIND_SECONDS)
        backoff = Backoff(cap=self.poll_seconds, factor=FACTOR)
        while True:
            present = queue.listing(f"{base}/*")
            if not claimed and f"{base}/{WORK_CLAIM}" in present:
                queue.fetch(f"{base}/{WORK_CLAIM}")
                try:
                    worker = queue.read_model(
                        present[f"{base}/{WORK_CLAIM}"],
                        layout.QUEUE_WORKER,
                        WorkerClaim,
                        limit=CLAIM_LIMIT,
                        what="the worker's claim",
                    )
                except UntrustedError as exc:  # whoever pushed it: the attempt fails, saying why
                    assignment.on_claim(
                        {"executor": self.name, "remote": self.remote, "note": "claim refused"}
                    )
                    mailbox.claim(step)
                    _refuse(assignment, f"refused the worker's claim: {exc.message}")
                    self._remove(queue, present, assignment)
                    return Outcome.RESULT
                assignment.on_claim({**worker.to_json(), "executor": self.name, "remote": self.remote})
                mailbox.claim(step)
                claimed = True
                backoff.reset()
                assignment.say(f"{step}: claimed by worker {worker.name}")
            if f"{base}/{WORK_RESULT}" in present:
                queue.fetch(f"{base}/{WORK_RESULT}")
                self._deliver(assignment, queue, parent, present[f"{base}/{WORK_RESULT}"], claimed)
                self._remove(queue, present, assignment)
                return Outcome.RESULT
            waiting.poll_seconds = backoff.next()
            over = waiting.pause(claimed=claimed)
            if over is Outcome.TIMEOUT:  # no worker takes up an attempt that is over
                self._remove(queue, queue.listing(f"{base}/*"), assignment)
            if over is not None:
                return over

    def _remove(self, queue: Queue, found: dict[str, str], assignment: Assignment) -> None:
        """Delete `found` from the remote; a failure leaves them for the next sweep."""
        if found and not queue.delete(found):
            assignment.say(
                f"{assignment.step}: could not remove {len(found)} queue ref(s) from {self.remote};"
                " the next run with this remote removes them"
            )

    def _sweep_once(self, queue: Queue, assignment: Assignment) -> None:
        """Once a process: remove the refs of attempts this repository's ledger has finished
        (left by a crash or a failed push); other repositories' plans are left alone."""
        with self._lock:
            if self._swept:
                return
            self._swept = True
        leftovers = finished_slots(queue, Ledger(queue.root))
        if leftovers:
            self._remove(queue, leftovers, assignment)

    def _deliver(self, assignment: Assignment, queue: Queue, parent: str, report: str, claimed: bool) -> None:
        """The worker's result: its edits into the worktree, its result files into the mailbox.
        A result commit that cannot be taken as it is (no parent, no result.json, a result.json
        that is no file or too big, a change that cannot be applied) fails the attempt."""
        step, mailbox = assignment.step, assignment.mailbox
        if not claimed:
            assignment.on_claim(
                {"executor": self.name, "remote": self.remote, "note": "result without a claim"}
            )
        try:
            code, raw, explanation = _result_commit(queue, report, limit=assignment.result_limit)
            changed = apply_changes(
                queue,
                assignment.workspace,
                parent,
                code,
                file_limit=assignment.file_limit,
                change_limit=assignment.change_limit,
            )
        except ConductorError as exc:  # the worker's result cannot be taken: the attempt fails
            _refuse(assignment, f"refused the worker's result: {exc.message}")
            return
        try:
            directory = ResultFile.from_json(raw).status.value
        except UntrustedError:
            directory = layout.FAILED  # the runner reports the broken result file
        write_atomic(mailbox.path(directory, step, EXPLANATION), explanation)
        write_atomic(mailbox.path(directory, step, RESULT), raw)
        assignment.say(
            f"{step}: result from the worker ({len(changed)} file{'' if len(changed) == 1 else 's'} changed)"
        )


def _result_commit(queue: Queue, report: str, *, limit: int) -> tuple[str, bytes, bytes]:
    """The code commit, the result and the explanation of a worker's result commit, each read
    within bounds (a missing explanation is an empty one). UntrustedError saying what is wrong."""
    what = "the worker's result"
    raw = queue.read(report, layout.QUEUE_RESULT, limit=limit, what=what, setting="behavior.max_result_bytes")
    try:
        explanation = queue.read(
            report, layout.QUEUE_EXPLANATION, limit=limit, what=what, setting="behavior.max_result_bytes"
        )
    except UntrustedError:
        if queue.object(f"{report}:{layout.QUEUE_EXPLANATION}") is not None:
            raise  # there, but no file or too big
        explanation = b""
    code = queue.parent(report)
    if code is None:
        raise UntrustedError([f"{what} {report[:12]} has no parent (the code the worker changed)"])
    return code, raw, explanation


def _refuse(assignment: Assignment, reason: str) -> None:
    """Fail the attempt with `reason`: a failed result (and its explanation) in the mailbox."""
    step, mailbox = assignment.step, assignment.mailbox
    summary = "".join(c if c.isprintable() else "?" for c in reason)[:SUMMARY_MAX]
    refused = ResultFile(
        task_id=step, attempt=assignment.task.attempt, status=ResultStatus.FAILED, summary=summary
    )
    write_atomic(mailbox.path(layout.FAILED, step, EXPLANATION), f"# {step}\n\n{summary}\n")
    write_atomic(mailbox.path(layout.FAILED, step, RESULT), refused.to_json())  # the runner says why


def _delivered(assignment: Assignment) -> bool:
    """The mailbox holds this attempt's result: delivered before Conductor stopped."""
    found = assignment.mailbox.find_result(assignment.step, limit=assignment.result_limit)
    if found is None or found.problem is not None:
        return found is not None
    try:
        attempt = untrusted.load_object(found.result, name="result").get("attempt")
    except UntrustedError:
        return True  # a broken result is still this attempt's: the runner reports it
    return attempt in (None, assignment.task.attempt)


def finished_slots(queue: Queue, ledger: Ledger) -> dict[str, str]:
    """Queue refs on the remote of attempts the ledger has finished: ref -> commit."""
    by_fork: dict[tuple[str, str], dict[str, str]] = {}
    for ref, commit in queue.listing().items():
        parsed = refs.parse_work_ref(ref)
        if parsed is not None:
            by_fork.setdefault((parsed[0], parsed[1]), {})[ref] = commit
    found: dict[str, str] = {}
    for (plan, fork), slots in by_fork.items():
        if ledger.log_end(refs.fork_log(plan, fork)) is None:
            continue  # a plan of another repository's: not ours to judge
        ended: dict[str, int] = {}  # step -> the highest attempt that ended
        over = False
        for event in ledger.log(refs.fork_log(plan, fork), newest_first=False):
            if event.type in ENDS_FORK:
                over = True
            elif event.step is not None and event.attempt is not None:
                last = event.attempt if event.type in ENDS_ATTEMPT else event.attempt - 1
                ended[event.step] = max(ended.get(event.step, 0), last)
        for ref, commit in slots.items():
            parsed = refs.parse_work_ref(ref)
            assert parsed is not None
            if over or parsed[3] <= ended.get(parsed[2], 0):
                found[ref] = commit
    return found
