"""Running one fork: ask the engine what to do, record it, do it, repeat.

`ForkRunner` is the imperative shell. The side effects of each phase live in modules of
their own, in the order a step meets them, and each acts on the `Fork` (context.py):

    reconcile.py bring the worktree, branch and mailbox in line with the log
    handout.py   create the task (or ask for approval), hand it to the executor, take the result
    verdicts.py  inspect the attempt, then accept it (commit, provenance) or fail it (evidence)

Every transition is appended to the fork log *before* anything acts on it, and the fork's
state is the fold of those events (conductor.engine.state); what is recorded is shaped by
pure modules (tasks.py, acceptance.py, logs/records.py). A crash anywhere leaves a log from which
`resume` continues: half-done work is finished or redone, never done twice
(docs/lifecycle.md walks through each crash point).
"""

from __future__ import annotations

from conductor.engine import decide as engine
from conductor.engine.failures import FailureKind, describe
from conductor.engine.state import ForkStatus, Phase
from conductor.ledger import refs
from conductor.models.event import EventType
from conductor.report import plural
from conductor.runner.fork import handout, verdicts
from conductor.runner.fork.context import Fork
from conductor.runner.fork.reconcile import reconcile
from conductor.runner.logs.approval import decide_options

INTERRUPTED = "interrupted (Ctrl-C); continue with `conductor resume`"


class ForkRunner:
    """The loop: reconcile, then ask the engine for the next action and carry it out."""

    def __init__(self, fork: Fork) -> None:
        self.fork = fork

    def run(self) -> ForkStatus:
        reconcile(self.fork)
        try:
            return self._loop()
        finally:
            self.fork.close()

    def _loop(self) -> ForkStatus:
        fork = self.fork
        plans = [engine.StepPlan(s, fork.policy(s).max_attempts) for s in fork.step_ids]
        done = 0  # the steps before this one are completed (a completed step stays so)
        try:
            while True:
                if fork.options.stop.is_set():
                    fork.halt(INTERRUPTED)
                    return ForkStatus.HALTED
                while done < len(plans) and fork.phase(plans[done].id) is Phase.COMPLETED:
                    done += 1
                action = engine.decide(fork.state, plans[done:])  # the same action, without the past
                if isinstance(action, engine.Finished):
                    return action.status
                if isinstance(action, engine.CreateTask):
                    if not handout.create_task(fork, action.step, action.attempt):
                        return ForkStatus.HALTED
                elif isinstance(action, engine.AwaitApproval):
                    where = decide_options(fork.plan.id, fork.id, several=len(fork.plan.spec.forks) > 1)
                    fork.halt(
                        f"{action.step} is waiting for approval (conductor approve {action.step} {where})"
                    )
                    return ForkStatus.HALTED
                elif isinstance(action, engine.Dispatch):
                    handout.dispatch(fork, action.step)
                elif isinstance(action, engine.Verify):
                    verdicts.judge(fork, action.step)
                elif isinstance(action, engine.Repair):
                    self._repair(action)
                elif isinstance(action, engine.HaltFork):
                    reason = f"{action.reason} — {describe(FailureKind.NOT_STARTED).recovery}"
                    fork.record(EventType.FORK_HALTED, reason, step=action.step, attempt=action.attempt)
                    fork.say(f"halted: {reason}")
                    return ForkStatus.HALTED
                elif isinstance(action, engine.FailFork):
                    fork.record(EventType.FORK_FAILED, action.reason, step=action.step)
                    fork.say(f"failed: {action.reason}")
                    return ForkStatus.FAILED
                elif isinstance(action, engine.CompleteFork):
                    fork.record(
                        EventType.FORK_COMPLETED, f"all {plural(len(fork.step_ids), 'step')} completed"
                    )
                    fork.say(f"completed: branch {refs.short_branch(fork.plan.id, fork.id)}")
                    return ForkStatus.COMPLETED
        except KeyboardInterrupt:
            fork.halt(INTERRUPTED)
            raise

    def _repair(self, action: engine.Repair) -> None:
        info = describe(action.failure.kind)
        self.fork.record(
            EventType.REPAIR_SCHEDULED,
            f"attempt {action.attempt} after {info.name}: {info.recovery}",
            step=action.step,
            attempt=action.attempt,
            data={"after": action.failure.kind.value, "previous_attempt": action.failure.attempt},
        )
