"""The executor interface and what the runner hands an executor for one attempt."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from conductor.executors.registry import Capabilities
from conductor.llm.conventions import Convention
from conductor.mailbox import Found, Mailbox
from conductor.models.defaults import MAX_CHANGE_BYTES, MAX_FILE_BYTES, MAX_RESULT_BYTES
from conductor.models.task import TaskFile
from conductor.sandbox.confinement import Confinement

if TYPE_CHECKING:
    from conductor.executors.preflight import Where
    from conductor.llm.caller import Exchange


class Outcome(StrEnum):
    RESULT = "result"  # result files are in the mailbox
    TIMEOUT = "timeout"  # timeout_seconds passed without a result
    STOPPED = "stopped"  # asked to stop (Ctrl-C while forks run in parallel)
    NOT_STARTED = "not_started"  # the command could not start (not found, no script): `not_started` says why


@dataclass
class Assignment:
    """One attempt of one step, as an executor sees it."""

    task: TaskFile
    mailbox: Mailbox
    workspace: Path
    deadline: float  # wall-clock time (time.time()) by which the result must be in
    claimed: bool  # the ledger already records a claim for this attempt
    on_claim: Callable[[dict[str, Any]], None]  # record task.claimed (before acting on it)
    on_stale: Callable[[Found, int], None]  # a result for an older attempt turned up
    say: Callable[[str], None]  # progress for the user
    record_llm: Callable[[Exchange], None] = lambda exchange: None  # model calls, for the ledger
    stop: threading.Event = field(default_factory=threading.Event)  # set: give up (Ctrl-C)
    confinement: Confinement | None = None  # where the processes it starts may write; None: none
    output: dict[str, str] = field(default_factory=dict)  # what its process printed: stdout, stderr
    # a malformed result for this attempt, set aside (found.kept_as); the attempt goes on
    on_invalid: Callable[[Found, list[str]], None] = lambda found, problems: None
    result_limit: int = MAX_RESULT_BYTES  # behavior.max_result_bytes: a larger result is refused
    file_limit: int = MAX_FILE_BYTES  # behavior.max_file_bytes: a larger file is never read
    change_limit: int = MAX_CHANGE_BYTES  # behavior.max_change_bytes: the files of a change together
    not_started: str = ""  # why the command could not start (Outcome.NOT_STARTED)
    # the task's context.conventions, read where the step starts: the model executor quotes them
    conventions: tuple[Convention, ...] = ()

    @property
    def step(self) -> str:
        return self.task.task_id

    def remaining(self) -> float:
        return self.deadline - time.time()

    def timeout_note(self) -> str:
        """`timeout 300s`, as configured; with the time left when the attempt began well before
        (a resumed one): `timeout 300s, 120s left`."""
        configured = self.task.timeout_seconds
        left = max(0, round(self.remaining()))
        return f"timeout {configured}s" + (f", {left}s left" if left < configured - 10 else "")


class Waiting:
    """The patient half of an executor that waits for someone else's result: the deadline,
    Ctrl-C, a reminder now and then, and the pause between looks."""

    def __init__(
        self,
        assignment: Assignment,
        *,
        poll_seconds: float,
        remind_seconds: float,
        reminder: Callable[[bool], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.assignment = assignment
        self.poll_seconds = poll_seconds
        self.remind_seconds = remind_seconds
        self.reminder = reminder  # the reminder's text, given whether the task is claimed
        self.clock, self.sleep = clock, sleep  # the passing of time, which a test may drive
        self.last_note = clock()

    def pause(self, *, claimed: bool) -> Outcome | None:
        """TIMEOUT or STOPPED when waiting is over; else None, after one poll interval."""
        assignment = self.assignment
        if assignment.remaining() <= 0:
            return Outcome.TIMEOUT
        if assignment.stop.is_set():
            return Outcome.STOPPED
        if self.clock() - self.last_note > self.remind_seconds:
            if self.reminder is not None:
                assignment.say(self.reminder(claimed))
            else:
                state = "claimed, working" if claimed else "not claimed yet"
                assignment.say(
                    f"{assignment.step}: still waiting ({state}; {int(assignment.remaining())}s left)"
                )
            self.last_note = self.clock()
        self.sleep(self.poll_seconds)
        return None


class Executor(Protocol):
    """What the runner knows of an executor: its name (what plans record), what it declares (its
    row of executors/registry.py), and the worktree files and hosts its agent brings."""

    name: str
    capabilities: Capabilities  # its row of registry.KINDS: the runner asks these, never the name
    scratch: tuple[str, ...]  # gitignore patterns of the files its agent leaves in the worktree
    network_hosts: tuple[str, ...]  # the hosts its agent reaches, when the policy names none

    def identity(self) -> tuple[str, str]:
        """The commit author for work this executor did: (name, email)."""
        ...

    def execute(self, assignment: Assignment) -> Outcome: ...

    def preflight(self, where: Where) -> None:
        """Before a plan starts: raise CannotStart (executors/preflight.py), with the fix, when
        what it runs for each attempt cannot start where it will run. One that starts nothing on
        this machine has nothing to check, and says why."""
        ...

    def settings(self) -> dict[str, Any]:
        """What to record so that `conductor resume` can recreate this executor."""
        ...
