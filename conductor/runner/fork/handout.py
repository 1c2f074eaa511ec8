"""Handing a step to the executor: assess confidence, record the task (or ask for approval),
put it in the mailbox, let the executor work, and record what happens meanwhile — the claim,
every model call, late results for older attempts — until the result is in or time is up.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from conductor.engine.confidence import Assessment, Gate, approval_gate, assess, signature
from conductor.engine.failures import FailureKind, describe
from conductor.engine.state import Phase
from conductor.executors.base import Assignment, Outcome
from conductor.executors.registry import KINDS
from conductor.llm.caller import Exchange
from conductor.mailbox import PROTOCOL_FILE, Found
from conductor.models.event import EventType
from conductor.models.layout import COMPLETED, RESULT, StepPaths
from conductor.models.plan import StepSpec
from conductor.models.task import TaskContext, TaskFile
from conductor.policy.effective import EffectivePolicy
from conductor.runner.fork import acceptance, conventions, tasks, tripwire, verdicts
from conductor.runner.logs import records
from conductor.runner.logs.approval import decide_options
from conductor.runner.logs.memory import Asking
from conductor.runner.logs.plans import exchange_record

if TYPE_CHECKING:
    from conductor.runner.fork.context import Fork

SETUP_OUTPUT_KEEP = 4096


def create_task(fork: Fork, step: str, attempt: int) -> bool:
    """Record the task (or, at LOW confidence, an approval request). False when halted."""
    spec, policy = fork.step_spec(step), fork.policy(step)
    allowed = tasks.allowed_files(spec)
    verify = tasks.verify_commands(spec, policy)
    sig = signature(allowed)
    assessment = assess(
        allowed_files=allowed,
        verify=verify,
        history=fork.memory.history(sig),
        max_diff_lines=policy.max_diff_lines,
        expected_lines=spec.expected_lines,
        planner=spec.confidence,
    )
    st = fork.state.steps.get(step)
    approved = st is not None and st.approved_attempt == attempt
    waits = approval_gate(assessment, threshold=policy.approval_below, verify=verify)
    if waits is not None and not approved and not fork.options.yes:  # every attempt, repairs included
        _request_approval(fork, step, attempt, spec, assessment, waits)
        return False
    task = _task(fork, step, attempt, spec, policy, assessment, verify)
    task_json = task.to_json()
    armed = tripwire.arm(fork, step, attempt) if tripwire.needed(fork, step) else ""
    fork.record(
        EventType.TASK_CREATED,
        spec.title,
        step=step,
        attempt=attempt,
        data={
            "checksum": task.checksum,
            "confidence": {"score": assessment.score, "level": assessment.level.value},
            "timeout_seconds": task.timeout_seconds,
            "signature": sig,
            "tripwire": armed,
        },
        changes=records.hand_out(
            step,
            attempt,
            task=task_json,
            policy=acceptance.dumps(policy.to_json()),
            confidence=acceptance.dumps(assessment.to_json()),
        ),
    )
    fork.mailbox.hand_out(step, task_json)
    level = assessment.level.value.upper()
    fork.say(f"{step} (attempt {attempt}): {spec.title} [{level} {assessment.score:.2f}]")
    return True


def _request_approval(
    fork: Fork, step: str, attempt: int, spec: StepSpec, assessment: Assessment, gate: Gate
) -> None:
    info = describe(FailureKind.LOW_CONFIDENCE)
    confidence = gate.reason if attempt == 1 else f"{gate.reason} (attempt {attempt})"
    fork.record(
        EventType.APPROVAL_REQUESTED,
        f"{confidence} for '{spec.title}'",
        step=step,
        attempt=attempt,
        data={
            "confidence": assessment.to_json(),
            "reason": gate.reason,
            "failure": info.name,
            "hint": gate.hint or info.recovery,
        },
        changes=records.request_approval(step, assessment=acceptance.dumps(assessment.to_json())),
    )
    where = decide_options(fork.plan.id, fork.id, several=len(fork.plan.spec.forks) > 1)
    fork.halt(
        f"{step} needs approval: {confidence}"
        f" (approve with `conductor approve {step} {where}`, or run with --yes)"
    )


def _task(
    fork: Fork,
    step: str,
    attempt: int,
    spec: StepSpec,
    policy: EffectivePolicy,
    assessment: Assessment,
    verify: list[str],
) -> TaskFile:
    """Gather what the task says about the fork so far; tasks.build shapes it."""
    tip = fork.tip()
    listed, counted = tasks.listed_previous(fork.step_ids[: fork.step_ids.index(step)])
    summaries = {s: tasks.result_summary(tip.read(StepPaths(s).record(COMPLETED, RESULT))) for s in listed}
    previous = tasks.previous_steps(
        titles={s: fork.step_spec(s).title for s in listed},
        statuses={s: fork.phase(s).value for s in listed},
        summaries=summaries,
    )
    repair = None
    if attempt > 1:
        verdict = tip.read(StepPaths(step).attempt(attempt - 1).verdict)
        repair = tasks.repair_context(verdict, failed_attempt=attempt - 1)
    context = TaskContext(
        goal=fork.plan.goal,
        strategy=fork.spec.strategy,
        plan_id=fork.plan.id,
        fork_id=fork.id,
        previous_steps=previous,
        earlier_steps=counted,
        lessons=fork.memory.lessons(
            signature(tasks.allowed_files(spec)),
            Asking(fork.plan.id, fork.id, step, tasks.allowed_files(spec)),
        ),
        repair=repair,
        conventions=tasks.convention_files(conventions.at_start(fork, step)),
    )
    return tasks.build(
        step,
        attempt,
        spec=spec,
        policy=policy,
        assessment=assessment,
        context=context,
        workspace=str(fork.worktree.path),
        redact=fork.redact,
        verify=verify,
    )


def dispatch(fork: Fork, step: str) -> None:
    """Let the executor do the current attempt; record its result when it comes back."""
    st = fork.state.step(step)
    raw = records.open_task(fork.tip(), step)
    if raw is None:
        raise AssertionError(f"{step} has no task in the ledger")
    task = TaskFile.from_json(raw)
    created = (
        datetime.fromisoformat(st.created_at).timestamp() if st.created_at else datetime.now().timestamp()
    )
    assignment = Assignment(
        task=task,
        mailbox=fork.mailbox,
        workspace=fork.worktree.path,
        deadline=created + task.timeout_seconds,
        claimed=st.phase is Phase.CLAIMED,
        on_claim=lambda worker: _claimed(fork, step, task.attempt, worker),
        on_stale=lambda found, attempt: _stale(fork, step, found, attempt),
        say=fork.say,
        record_llm=lambda exchange: _record_llm(fork, step, task.attempt, exchange),
        stop=fork.options.stop,
        confinement=fork.confinement(step),
        on_invalid=lambda found, problems: _refused(fork, step, task.attempt, found, problems),
        result_limit=fork.policy(step).max_result_bytes,
        file_limit=fork.policy(step).max_file_bytes,
        change_limit=fork.policy(step).max_change_bytes,
        conventions=conventions.handed(fork, task),
    )
    if not _prepare(fork, step, task.attempt):
        return
    if st.phase is Phase.CLAIMED and fork.executor.capabilities.starts_process:
        outcome = Outcome.RESULT  # resume kept a finished command's result
    else:
        outcome = fork.executor.execute(assignment)
    if outcome is Outcome.STOPPED:
        return  # the loop halts the fork; resume picks the step up again
    if outcome is Outcome.TIMEOUT:
        _timed_out(fork, step, task, assignment.output)
        return
    if outcome is Outcome.NOT_STARTED:
        verdicts.fail_attempt(
            fork,
            step,
            task.attempt,
            FailureKind.NOT_STARTED,
            assignment.not_started,
            output=assignment.output,
            hint=describe(FailureKind.NOT_STARTED).recovery,
        )
        return
    found = fork.mailbox.find_result(step, limit=fork.policy(step).max_result_bytes)
    if found is None:  # the files vanished between seeing and reading them
        return
    if found.problem is not None:  # an executor that is done: the attempt fails, the file is kept
        kept = fork.mailbox.set_aside(step, found, "rejected")
        reason = f"{found.directory}/{found.problem}" + (f" (kept as {kept.kept_as})" if kept else "")
        verdicts.fail_attempt(
            fork, step, task.attempt, FailureKind.INVALID_RESULT, reason, output=assignment.output
        )
        return
    fork.record(
        EventType.RESULT_RECEIVED,
        f"result in {found.directory}/",
        step=step,
        attempt=task.attempt,
        data={"directory": found.directory, **acceptance.reported_usage(found.result)},
        changes={
            **records.receive(step, result=found.result, explanation=found.explanation),
            **records.executor_output(step, task.attempt, assignment.output, fork.redact.text),
        },
    )


def _prepare(fork: Fork, step: str, attempt: int) -> bool:
    """The worktree copied and set up first (when new, or a setup input changed), the output
    kept as evidence; a setup that fails fails the attempt."""
    policy = fork.policy(step)
    done = fork.worktree.prepare(policy, fork.confinement(step), policy.verify_timeout_seconds)
    if done is None:
        return True
    for note in done.notes:
        fork.say(note)
    commands = [
        {**c.to_json(), "output": fork.redact.text(c.output[-SETUP_OUTPUT_KEEP:])} for c in done.commands
    ]
    failed = done.failed
    ran = ", ".join(f"`{c.command}`" for c in done.commands) or "no commands"
    fork.record(
        EventType.WORKSPACE_PREPARED,
        f"workspace set up ({done.reason}): {ran}" + (" — failed" if failed else ""),
        step=step,
        attempt=attempt,
        data={"reason": done.reason, "copied": done.copied, "notes": done.notes, "commands": commands},
    )
    if failed is None:
        return True
    state = "timed out" if failed.exit_code is None else f"exited with {failed.exit_code}"
    verdicts.fail_attempt(
        fork,
        step,
        attempt,
        FailureKind.EXECUTOR_FAILED,
        f"workspace setup `{failed.command}` {state}",
        evidence=failed.output.strip().splitlines()[-10:],
        commands=done.commands,
        hint="fix workspace.setup in .conductor/policy.yaml (its output is in the workspace.prepared"
        " event: conductor events --plan PLAN)",
    )
    return False


def _record_llm(fork: Fork, step: str, attempt: int, exchange: Exchange) -> None:
    """Every model call an executor makes goes into the fork log, before it is acted on."""
    fork.record(
        EventType.LLM_EXCHANGE,
        exchange.summary(),
        step=step,
        attempt=attempt,
        data=exchange.event_data(),
        changes=exchange_record(StepPaths(step).attempt(attempt).llm, exchange),
    )


def _claimed(fork: Fork, step: str, attempt: int, worker: dict[str, Any]) -> None:
    fork.record(
        EventType.TASK_CLAIMED,
        f"claimed by the {worker.get('executor', 'unknown')} executor",
        step=step,
        attempt=attempt,
        data={"worker": worker},
        changes=records.claim(step),
    )


def _stale(fork: Fork, step: str, found: Found, attempt: int) -> None:
    """A result for an older attempt: kept as evidence (in the ledger, and in the mailbox as
    `….result.json.stale-N`), never taken for the current attempt."""
    info = describe(FailureKind.STALE)
    current = fork.state.step(step)
    late = records.refuse_late(step, attempt, result=found.result, explanation=found.explanation)
    fork.record(
        EventType.RESULT_REFUSED,
        f"{info.name}: result for attempt {attempt}, but attempt {current.attempt} is current"
        f" (kept as {found.kept_as})",
        step=step,
        attempt=current.attempt,
        data={
            "kind": FailureKind.STALE.value,
            "stale_attempt": attempt,
            "failure": info.name,
            "hint": info.recovery,
            "kept_as": found.kept_as,
            "evidence": sorted(late),
        },
        changes=late,
    )
    if current.phase is Phase.PENDING:
        fork.index_sync.settle()
        fork.worktree.reset()  # nobody works on the current attempt yet: the changes are stale
    fork.say(
        f"{step}: refused a late result for attempt {attempt}, kept as {found.kept_as} ({info.recovery})"
    )


def _refused(fork: Fork, step: str, attempt: int, found: Found, problems: list[str]) -> None:
    """A malformed result for the current attempt, from an executor that goes on waiting: every
    problem recorded (`result.refused`), the file kept as evidence; the worktree is left alone."""
    info = describe(FailureKind.INVALID_RESULT)
    tip = fork.tip()
    folder = StepPaths(step).attempt(attempt)
    number = 1
    while tip.read(folder.refused(number)) is not None:
        number += 1
    evidence: dict[str, bytes | str | None] = (
        {folder.refused(number): found.result} if found.problem is None else {}
    )
    name = found.name(step)
    listed = "; ".join(p.removeprefix(f"{name}: ") for p in problems)
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    hint = f"write a corrected {name}: the attempt goes on until its deadline"
    fork.record(
        EventType.RESULT_REFUSED,
        f"{info.name}: {count} in {name} (kept as {found.kept_as}): {listed}",
        step=step,
        attempt=attempt,
        data={
            "kind": FailureKind.INVALID_RESULT.value,
            "failure": info.name,
            "problems": problems,
            "kept_as": found.kept_as,
            "evidence": sorted(evidence),
            "hint": hint,
        },
        changes=evidence,
    )
    fork.say(f"{step}: refused {name} ({count}; kept as {found.kept_as}); {hint}:")
    for problem in problems:
        fork.say(f"{step}:   {problem}")


def _timed_out(fork: Fork, step: str, task: TaskFile, output: dict[str, str]) -> None:
    if fork.executor.capabilities.hands_out_files:  # nobody handed in a result: say who should
        fork.say(_deadline_passed(fork, step, task))
    observed = verdicts.observe(fork, step, verdicts.base_commit(fork))
    verdicts.fail_attempt(
        fork,
        step,
        task.attempt,
        FailureKind.TIMEOUT,
        f"no result within timeout_seconds={task.timeout_seconds}",
        patch=observed.diff.patch,
        diffstat=observed.diffstat(),
        output=output,
    )


def _deadline_passed(fork: Fork, step: str, task: TaskFile) -> str:
    """What happened when nobody handed in a result, what happens next and what to do."""
    st = fork.state.step(step)
    result = fork.mailbox.path(COMPLETED, step, RESULT)
    agent = KINDS[fork.executor.name].answered_by.format(protocol=fork.mailbox.handoff / PROTOCOL_FILE)
    who = (
        "the agent that claimed it wrote no" if st.phase is Phase.CLAIMED else "no agent claimed it or wrote"
    )
    happened = (
        f"{step} attempt {task.attempt}: the deadline passed (timeout_seconds={task.timeout_seconds}):"
        f" {who} {result}"
    )
    limit = fork.policy(step).max_attempts
    if st.counted_failures + 1 < limit:
        following = f"start {agent}"
        return f"{happened}. Attempt {task.attempt + 1} is handed out next: {following}"
    return (
        f"{happened}. That was the last attempt (behavior.max_attempts={limit}), so the fork fails:"
        f" start {agent} and run the plan again, or give the step a longer"
        " timeout_seconds"
    )
