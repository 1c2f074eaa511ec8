"""The repository's conventions for one step (docs/conventions.md), read through the ledger from
the commit the step starts at — the fork branch's tip, recorded history, never the worktree's
files: `at_start` when the task is made (its context.conventions lists them), `handed` when the
attempt is handed to the executor, each file read again there and checked against its digest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conductor.ledger.store import Ledger
from conductor.llm.conventions import Convention, Reader, for_step, readable
from conductor.models.task import TaskFile
from conductor.runner.fork import tasks

if TYPE_CHECKING:
    from conductor.runner.fork.context import Fork


def reader(ledger: Ledger, commit: str | None) -> Reader:
    """The files of `commit` as convention files are read (nothing without a commit)."""

    def read(path: str) -> bytes | None:
        if commit is None:
            return None
        found = ledger.find(commit, path)
        if found.kind != "blob" or not readable(found.mode, found.size):
            return None
        return ledger.object_bytes(found.oid)

    return read


def at_start(fork: Fork, step: str) -> list[Convention]:
    """The conventions that apply to `step`, as committed where it starts, within the policy's caps."""
    read = reader(fork.ledger, fork.ledger.points_at(fork.branch))
    return for_step(read, tasks.allowed_files(fork.step_spec(step)), fork.policy(step).conventions)


def handed(fork: Fork, task: TaskFile) -> tuple[Convention, ...]:
    """The conventions `task` lists, read where the step starts; one that is not as the task
    recorded it (its digest) is said and left out, never quoted in its place."""
    read = reader(fork.ledger, fork.ledger.points_at(fork.branch))
    found = []
    for listed in task.context.conventions:
        data = read(listed.path)
        convention = Convention(listed.path, data or b"", min(listed.shown, len(data or b"")))
        if data is None or convention.digest != listed.digest:
            fork.say(f"{task.task_id}: {listed.path} is not as its task recorded it: not quoted")
            continue
        found.append(convention)
    return tuple(found)
