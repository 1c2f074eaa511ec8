"""The start of every run of a fork, new or resumed: bring the world in line with the log.

The fork log is the truth; the worktree, the code branch, the mailbox and the memory follow
it. After a crash each may lag behind (docs/lifecycle.md lists where a crash can happen):
a recorded commit whose branch move did not happen, a mailbox deleted or half-filed, a
lesson not yet recorded, a command executor's processes still running. Everything here is
idempotent, so it runs at every start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conductor.engine.failures import FailureKind, describe
from conductor.engine.state import FINAL, UNCOUNTED, ForkStatus, Phase
from conductor.ledger.snapshot import Snapshot
from conductor.mailbox import write_atomic
from conductor.models.event import EventType
from conductor.models.layout import COMPLETED, FAILED, IN_PROGRESS, PENDING, RESULT, TASK, WORKER, StepPaths
from conductor.runner.fork import switch, verdicts

if TYPE_CHECKING:
    from conductor.runner.fork.context import Fork


def reconcile(fork: Fork) -> None:
    """Worktree, branch, mailbox, memory and leftover processes, in line with the log."""
    if fork.state.status is ForkStatus.HALTED:
        fork.record(EventType.FORK_RESUMED, "resumed")
    elif fork.options.resuming and fork.state.status is ForkStatus.RUNNING and not _reopened(fork):
        fork.record(EventType.FORK_RESUMED, "resumed after Conductor stopped (a crash or a kill)")
    if fork.worktree.exists() and fork.options.resuming:
        fork.worktree.refresh_index()  # a crash may have cut the index sync short
    if fork.state.status in FINAL:
        return
    fresh = fork.worktree.create(fork.branch)
    if fresh and fork.unlayered:
        fork.say(fork.unlayered)
    fork.worktree.declare_scratch(fork.executor.scratch)
    fork.watcher = fork.worktree.watch()
    fork.watch_seq = fork.state.last_seq
    # A step whose commit was recorded but whose branch move did not happen: finish it.
    for step in fork.step_ids:
        st = fork.state.steps.get(step)
        if st is not None and st.phase is Phase.COMPLETED and st.commit:
            _advance_branch(fork, st.commit)
    _project_mailbox(fork, fork.tip())
    _relearn(fork)
    current = next((s for s in fork.step_ids if fork.phase(s) is not Phase.COMPLETED), None)
    if current is None:
        return
    phase = fork.phase(current)
    if phase in switch.HANDED and fork.options.handover:
        switch.hand_over(fork, current)  # the old executor's attempt ends; the new one gets the next
    elif phase is Phase.CLAIMED and fork.executor.capabilities.starts_process:
        _interrupted_command(fork, current)
    # whatever is in the worktree belongs to no live attempt — but a task handed out to an agent
    # outside Conductor may be worked on while Conductor is away: its worktree is the agent's
    out_there = phase is Phase.PENDING and fork.executor.capabilities.hands_out_files
    if phase in (Phase.NEW, Phase.PENDING, Phase.FAILED) and not out_there and not fresh:
        fork.worktree.reset()


def _reopened(fork: Fork) -> bool:
    """`conductor revise` reopened the fork and nothing ran since: its own `fork.resumed` says
    why the fork runs again (nothing stopped it)."""
    last = fork.tip().event
    return last.type is EventType.FORK_RESUMED and "revision" in last.data


def _advance_branch(fork: Fork, commit: str) -> None:
    tip = fork.ledger.points_at(fork.branch)
    if tip == commit or tip is None:
        return
    if fork.ledger.commit_parent(commit) == tip:
        fork.ledger.set_branch(fork.branch, commit, expect=tip)
        fork.worktree.reset()


def _project_mailbox(fork: Fork, tip: Snapshot) -> None:
    """Rebuild whatever of the mailbox is missing from the ledger (it may have been deleted)."""
    mailbox = fork.mailbox
    mailbox.ensure()
    mailbox.write_audit(list(fork.ledger.log(fork.ref, newest_first=False)))
    for step in fork.step_ids:
        phase, paths = fork.phase(step), StepPaths(step)
        if phase in (Phase.COMPLETED, Phase.FAILED):
            directory = COMPLETED if phase is Phase.COMPLETED else FAILED
            if not mailbox.path(directory, step, RESULT).exists():
                fork.file_step(tip, step, directory)
        elif phase is Phase.PENDING and mailbox.where_is_task(step) is None:
            task = tip.read_text(paths.record(PENDING, TASK))
            if task is not None:
                mailbox.hand_out(step, task)
        elif phase in (Phase.CLAIMED, Phase.RECEIVED) and mailbox.where_is_task(step) is None:
            claimed = tip.read(paths.record(IN_PROGRESS, TASK))
            if claimed is not None:
                write_atomic(mailbox.path(IN_PROGRESS, step, TASK), claimed)


def _relearn(fork: Fork) -> None:
    """Record the lessons of finished attempts a crash kept from being recorded (idempotent)."""
    for step in fork.step_ids:
        st = fork.state.steps.get(step)
        if st is None:
            continue
        for failure in st.failures:
            if failure.kind in (*UNCOUNTED, FailureKind.LOW_CONFIDENCE):
                continue
            fork.learn(
                step,
                failure.attempt,
                succeeded=False,
                kind=failure.kind.value,
                reason=failure.reason,
                hint=describe(failure.kind).recovery,
            )
        if st.phase is Phase.COMPLETED:
            fork.learn(step, st.attempt, succeeded=True)


def _interrupted_command(fork: Fork, step: str) -> None:
    """Conductor died while the command ran: keep its result if it finished, else retry."""
    from conductor.executors.command import kill_leftover

    killed = kill_leftover(fork.mailbox.path(IN_PROGRESS, step, WORKER), workspace=fork.worktree.path)
    if fork.mailbox.find_result(step) is not None and not killed:
        return  # the command finished before the crash: verify what it did
    verdicts.fail_attempt(
        fork,
        step,
        fork.state.step(step).attempt,
        FailureKind.INTERRUPTED,
        "Conductor stopped while the command was running"
        + (" (its processes were killed)" if killed else ""),
    )
