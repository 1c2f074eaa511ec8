"""The remote executor: steps done by `conductor worker`s on other machines, through a work
queue on a shared git remote (see queue.py).

For each attempt it pushes the task (with the code it starts from), waits for a worker's
claim and then for its result, and brings the worker's changes into the fork's worktree as
file edits — as if an agent had made them there — so they are verified here, against this
repository's policy, like any other executor's work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError
from conductor.executors.base import Assignment, Outcome, Waiting
from conductor.executors.queue import Queue
from conductor.gitcli import git_text
from conductor.ledger import refs
from conductor.ledger.refs import WORK_CLAIM, WORK_RESULT, WORK_TASK
from conductor.mailbox import write_atomic
from conductor.models import layout
from conductor.models.layout import EXPLANATION, RESULT
from conductor.models.paths import escape_reason, printable, unstorable_reason
from conductor.models.result import ResultFile, ResultStatus

POLL_SECONDS = 1.0
REMIND_SECONDS = 60.0


def apply_changes(queue: Queue, workspace: Path, parent: str, commit: str) -> list[str]:
    """Make the files of `workspace` (checked out at `parent`) those of `commit`; the paths."""
    out = queue.git("diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, commit)
    fields = out.split("\0")
    changed = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta:
            continue
        _old_mode, new_mode, _old, blob, status = meta.lstrip(":").split(" ")
        reason = escape_reason(path) or unstorable_reason(path)
        target = workspace / path
        if reason is None and not target.parent.resolve().is_relative_to(workspace.resolve()):
            reason = "leads outside the workspace through a symbolic link"
        if reason is not None:
            raise ConductorError(f"the worker's change has a path that {reason}: {printable(path)}")
        if status == "D":
            target.unlink(missing_ok=True)
        elif new_mode == "160000":
            raise ConductorError(f"the worker's change adds a submodule at {path}, which cannot be applied")
        else:
            data = queue.blob(blob)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            if new_mode == "120000":
                os.symlink(data.decode("utf-8", "surrogateescape"), target)
            else:
                target.write_bytes(data)
                target.chmod(0o755 if new_mode == "100755" else 0o644)
        changed.append(path)
    return changed


class RemoteExecutor:
    name = "remote"

    def __init__(self, remote: str, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.remote = remote
        self.poll_seconds = poll_seconds

    def identity(self) -> tuple[str, str]:
        return (f"conductor worker (via {self.remote})", "remote-executor@conductor.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name, "remote": self.remote}

    def execute(self, assignment: Assignment) -> Outcome:
        step, mailbox, task = assignment.step, assignment.mailbox, assignment.task
        # from the main checkout: git resolves a relative remote URL against the directory it runs in
        common = git_text(
            ["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=assignment.workspace
        )
        queue = Queue(Path(common).parent, self.remote)
        base = refs.work_slot(mailbox.plan, mailbox.fork, step, task.attempt)
        parent = queue.git("-C", str(assignment.workspace), "rev-parse", "HEAD")
        present = queue.listing(f"{base}/*")
        if f"{base}/{WORK_TASK}" not in present:
            commit = queue.commit(
                {layout.QUEUE_TASK: task.to_json().encode()},
                parent=parent,
                message=f"conductor task {mailbox.plan}/{mailbox.fork}/{step} attempt {task.attempt}\n",
            )
            queue.create(f"{base}/{WORK_TASK}", commit)
        assignment.say(
            f"{step}: queued on {self.remote} ({base}); waiting for a worker:"
            f" conductor worker --remote {self.remote} --exec CMD ({assignment.timeout_note()})"
        )
        claimed = assignment.claimed
        waiting = Waiting(assignment, poll_seconds=self.poll_seconds, remind_seconds=REMIND_SECONDS)
        while True:
            present = queue.listing(f"{base}/*")
            if not claimed and f"{base}/{WORK_CLAIM}" in present:
                queue.fetch(f"{base}/{WORK_CLAIM}")
                worker = queue.read_json(present[f"{base}/{WORK_CLAIM}"], layout.QUEUE_WORKER)
                assignment.on_claim({**worker, "executor": self.name, "remote": self.remote})
                mailbox.claim(step)
                claimed = True
                assignment.say(f"{step}: claimed by worker {worker.get('name', '?')}")
            if f"{base}/{WORK_RESULT}" in present:
                queue.fetch(f"{base}/{WORK_RESULT}")
                return self._deliver(assignment, queue, parent, present[f"{base}/{WORK_RESULT}"], claimed)
            over = waiting.pause(claimed=claimed)
            if over is not None:
                return over

    def _deliver(
        self, assignment: Assignment, queue: Queue, parent: str, report: str, claimed: bool
    ) -> Outcome:
        """The worker's result: its edits into the worktree, its result files into the mailbox."""
        step, mailbox = assignment.step, assignment.mailbox
        if not claimed:
            assignment.on_claim(
                {"executor": self.name, "remote": self.remote, "note": "result without a claim"}
            )
        code = queue.git("rev-parse", f"{report}^")
        try:
            changed = apply_changes(queue, assignment.workspace, parent, code)
        except ConductorError as exc:  # the worker's change cannot be taken: the attempt fails
            refused = ResultFile(
                task_id=step, attempt=assignment.task.attempt, status=ResultStatus.FAILED, summary=exc.message
            )
            write_atomic(mailbox.path(layout.FAILED, step, EXPLANATION), f"# {step}\n\n{exc.message}\n")
            write_atomic(mailbox.path(layout.FAILED, step, RESULT), refused.to_json())
            assignment.say(f"{step}: refused the worker's change: {exc.message}")
            return Outcome.RESULT
        raw = queue.read(report, layout.QUEUE_RESULT)
        try:
            directory = ResultFile.from_json(raw).status.value
        except ValueError:
            directory = "failed"  # the runner reports the broken result file
        write_atomic(mailbox.path(directory, step, EXPLANATION), queue.read(report, layout.QUEUE_EXPLANATION))
        write_atomic(mailbox.path(directory, step, RESULT), raw)
        assignment.say(
            f"{step}: result from the worker ({len(changed)} file{'' if len(changed) == 1 else 's'} changed)"
        )
        return Outcome.RESULT
