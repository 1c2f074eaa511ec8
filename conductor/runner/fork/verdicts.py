"""A step's verdict: inspect what the executor did (the checks of docs/protocol.md, in order),
then accept it — commit it with its provenance, record it, move the branch, file the records
— or fail it — record the evidence and reset the worktree to the fork tip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from conductor.checks.diff import Violation
from conductor.checks.evidence import CommandEvidence
from conductor.engine.failures import FailureKind, describe
from conductor.engine.state import UNCOUNTED, Phase
from conductor.ledger import refs
from conductor.ledger.message import format_time
from conductor.ledger.store import utc_now
from conductor.models.event import EventType
from conductor.models.layout import (
    COMPLETED,
    EXPLANATION,
    FAILED,
    HANDED,
    IN_PROGRESS,
    RESULT,
    TASK,
    StepPaths,
)
from conductor.models.result import ResultFile
from conductor.models.task import TaskFile
from conductor.provenance.statement import StepFacts
from conductor.report import plural
from conductor.runner.fork import acceptance, attest, inspection, review, tripwire
from conductor.runner.logs import records
from conductor.runner.place import detection

if TYPE_CHECKING:
    from conductor.runner.fork.context import Fork


def judge(fork: Fork, step: str) -> None:
    """Inspect the attempt whose result was received, and accept or fail it."""
    fork.index_sync.settle()
    tip, paths = fork.tip(), StepPaths(step)
    task = TaskFile.from_json(tip.read(paths.record(IN_PROGRESS, TASK)) or b"")
    raw_result = tip.read(paths.record(IN_PROGRESS, RESULT)) or b""
    policy = fork.policy(step)
    # first, before Conductor's own git looks at anything the step may have planted
    tripped = _disarm(fork, step, task.attempt)
    link_intact = fork.worktree.link_intact(fork.ledger.git_dir)
    if not link_intact:
        fork.worktree.restore_link(fork.ledger.git_dir)
    observed = observe(fork, step, base_commit(fork), extra=acceptance.reported_paths(raw_result))
    verdict, result = inspection.check(
        step=step,
        task=task,
        raw_result=raw_result,
        mailbox=fork.mailbox,
        observed=observed,
        policy=policy,
        link_was_intact=link_intact,
        allow_empty=fork.step_spec(step).allow_empty,
        known_secrets=fork.redact.values,
    )
    if verdict.accepted and task.verify:
        pinned = review.pin(fork, observed, policy)  # the tests as they were at the plan's base
        if pinned:
            fork.say(f"{step}: verify runs with {', '.join(pinned)} as at the plan's base (verify.pinned)")
        armed = (
            tripwire.arm(fork, step, task.attempt, phase="verify", start=tripped.now)
            if tripwire.needed(fork, step)
            else ""
        )
        verdict = inspection.run_verify_commands(
            task.verify,
            worktree=fork.worktree.path,
            timeout=policy.verify_timeout_seconds,
            say=lambda text: fork.say(f"{step}: {text}"),
            confinement=fork.verify_confinement(step),
        )
        # whatever the commands wrote is not part of the step
        touched = fork.watcher.drain() if fork.watcher is not None else None
        inspection.settle(
            fork.worktree,
            fork.ledger,
            observed,
            (touched if touched is not None else fork.worktree.changed_paths()) | set(pinned),
        )
        tripped = tripped.merge(_disarm(fork, step, task.attempt, phase="verify", recorded=armed))
    if tripped.changed or tripped.tampered:
        verdict = inspection.outside(tripped, verdict)
    if not verdict.accepted or result is None:
        assert verdict.kind is not None
        fail_attempt(
            fork,
            step,
            task.attempt,
            verdict.kind,
            verdict.reason,
            patch=observed.diff.patch,
            violations=verdict.violations,
            evidence=verdict.evidence,
            diffstat=observed.diffstat(),
            commands=verdict.commands,
            hint=verdict.hint,
            checkout=tripped.checkout,
        )
        return
    needs_person = review.review_paths(observed, policy)
    if needs_person and fork.state.step(step).review_approved != task.attempt:
        if not fork.options.yes:
            review.request_review(fork, step, task.attempt, needs_person)
            return  # the change stays in the worktree, for a person to look at
        fork.say(
            f"{step}: its change touches {', '.join(needs_person)} (review_patterns): accepted under --yes"
        )
    accept(fork, task, result, observed, verdict.commands, checkout=tripped.checkout)


def base_commit(fork: Fork) -> str:
    """The commit the current step builds on: the last accepted step's, or the plan's base. An
    executor that committed on the branch (it should not) gets its commits folded into the
    step: the branch goes back, the files stay."""
    expected = fork.plan.base
    for done in reversed(fork.step_ids):
        st = fork.state.steps.get(done)
        if st is not None and st.phase is Phase.COMPLETED and st.commit:
            expected = st.commit
            break
    current = fork.ledger.points_at(fork.branch)
    if current is not None and current != expected and fork.ledger.is_ancestor(expected, current):
        branch = refs.short_branch(fork.plan.id, fork.id)
        fork.say(f"the executor committed on {branch}; its commits are folded into the step")
        fork.ledger.set_branch(fork.branch, expected, expect=current)
    return expected


def observe(fork: Fork, step: str, parent: str, *, extra: Sequence[str] = ()) -> inspection.Observed:
    """What the current attempt changed: from the watcher when it saw the whole attempt,
    else the workspace's slow way (`git status` of a worktree: slower on big repositories, same
    answer)."""
    candidates = None
    watcher = fork.watcher
    if watcher is not None and watcher.active and fork.state.step(step).created_seq > fork.watch_seq:
        candidates = watcher.drain()
        if candidates is not None:
            candidates |= set(extra)
    policy = fork.policy(step)
    limits = detection.Limits(file_bytes=policy.max_file_bytes, change_bytes=policy.max_change_bytes)
    return inspection.observe(fork.ledger, fork.worktree, parent, candidates, limits=limits)


def accept(
    fork: Fork,
    task: TaskFile,
    result: ResultFile,
    observed: inspection.Observed,
    commands: list[CommandEvidence],
    *,
    checkout: Sequence[str] = (),
) -> None:
    """Commit the step with its provenance, record it, move the branch, file the records
    (`checkout`: files of the user's checkout that changed meanwhile, reported)."""
    step, attempt = task.task_id, task.attempt
    spec = fork.step_spec(step)
    change = acceptance.Change(
        files=[c.path for c in observed.diff.changes], lines=observed.lines, diffstat=observed.diffstat()
    )
    verdict = acceptance.accepted_verdict(step, attempt, change, commands, checkout=checkout)
    evidence_digest = acceptance.digest(verdict)
    explanation = fork.tip().read(StepPaths(step).record(IN_PROGRESS, EXPLANATION)) or b""
    message = acceptance.commit_message(
        title=spec.title,
        summary=result.summary,
        plan=fork.plan.id,
        fork=fork.id,
        task=task,
        evidence_digest=evidence_digest,
        explanation=explanation.decode("utf-8", "replace"),
    )
    author = acceptance.commit_author(fork.executor.identity(), result.agent)
    logs = acceptance.verify_logs(StepPaths(step).attempt(attempt), commands)
    attested = attest.commit(
        fork.ledger,
        tree=observed.tree,
        parent=observed.parent,
        message=fork.redact.text(message),
        author=author,
        committer=fork.ledger.identity(),
        facts=lambda payload: _facts(fork, task, payload, observed, verdict, logs, author),
        signer=fork.options.signer,
    )
    if attested.signing_error:
        fork.say(f"{step}: provenance recorded UNSIGNED: {attested.signing_error}")
    fork.record(
        EventType.TASK_COMPLETED,
        f"accepted: {spec.title}",
        step=step,
        attempt=attempt,
        data={
            "commit": attested.commit,
            "parent": observed.parent,
            "tree": observed.tree,
            "evidence": evidence_digest,
            "lines": change.lines,
            "files": len(change.files),
            "verify": acceptance.command_verdicts(commands),
            **attested.event_data(),
        },
        changes=records.accept(
            step, attempt, verdict=verdict, statement=attested.statement, bundle=attested.bundle, logs=logs
        ),
    )
    fork.ledger.set_branch(fork.branch, attested.commit, expect=observed.parent)
    fork.index_sync.start(observed.index_entries())
    fork.file_step(fork.tip(), step, COMPLETED)
    fork.learn(step, attempt, succeeded=True)
    shown = f", {change.diffstat}" if change.diffstat else ""
    fork.say(f"{step}: accepted, commit {attested.commit[:12]} ({plural(change.lines, 'line')}{shown})")


def _facts(
    fork: Fork,
    task: TaskFile,
    payload: bytes,
    observed: inspection.Observed,
    verdict: str,
    logs: dict[str, str],
    author: tuple[str, str],
) -> StepFacts:
    """What the statement of an accepted step says (the records as they are about to be filed)."""
    tip, paths = fork.tip(), StepPaths(task.task_id)
    st = fork.state.step(task.task_id)
    # digests of what the ledger will hold: the ledger redacts secrets as it writes
    evidence = {paths.attempt(task.attempt).verdict: fork.redact.text(verdict).encode()}
    evidence.update({path: fork.redact.text(text).encode() for path, text in logs.items()})
    in_progress = {suffix: tip.read(paths.record(IN_PROGRESS, suffix)) for suffix in HANDED}
    return acceptance.statement_facts(
        plan=fork.plan.id,
        fork=fork.id,
        task=task,
        records=acceptance.filed_records(task.task_id, in_progress),
        payload=payload,
        tree=observed.tree,
        parent=observed.parent,
        policy=tip.read(paths.policy) or b"",
        evidence=evidence,
        who=acceptance.Attribution(fork.executor.name, author, st.model, st.tokens),
        times={"task_created": st.created_at or "", "accepted": format_time(utc_now())},
        version=attest.version(),
    )


def fail_attempt(
    fork: Fork,
    step: str,
    attempt: int,
    kind: FailureKind,
    reason: str,
    *,
    patch: bytes = b"",
    violations: Sequence[Violation] = (),
    evidence: Sequence[str] | None = None,
    diffstat: str = "",
    commands: Sequence[CommandEvidence] = (),
    hint: str | None = None,
    output: Mapping[str, str] | None = None,
    checkout: Sequence[str] = (),
) -> None:
    """Record a failed attempt with its evidence (with `output`: what the executor's process
    printed, see records.executor_output), then reset the worktree to the fork tip."""
    _disarm(fork, step, attempt)
    info = describe(kind)
    hint = hint or info.recovery
    verdict = acceptance.failed_verdict(
        step,
        attempt,
        kind,
        reason,
        violations=violations,
        evidence=evidence,
        diffstat=diffstat,
        commands=commands,
        hint=hint,
        checkout=checkout,
    )
    logs = acceptance.verify_logs(StepPaths(step).attempt(attempt), commands)
    logs.update(records.executor_output(step, attempt, output or {}, fork.redact.text))
    fork.record(
        acceptance.failure_event(kind),
        f"{info.name}: {reason}",
        step=step,
        attempt=attempt,
        data={
            "kind": kind.value,
            "failure": info.name,
            "hint": hint,
            **acceptance.audited_violations(violations),
            "verify": acceptance.command_verdicts(commands),
        },
        changes=records.fail(step, attempt, verdict=verdict, patch=patch, logs=logs),
    )
    fork.index_sync.settle()
    fork.worktree.reset()
    fork.file_step(fork.tip(), step, FAILED)
    if kind not in UNCOUNTED:  # not a try of the step: nothing to learn from
        fork.learn(step, attempt, succeeded=False, kind=kind.value, reason=reason, hint=hint)
    fork.say(f"{step}: {info.name}: {reason}")


def _disarm(
    fork: Fork, step: str, attempt: int, *, phase: str = "", recorded: str | None = None
) -> tripwire.Tripped:
    """Check the attempt's tripwire (when it has one), put back what can be, and say so."""
    digest = fork.state.step(step).tripwire if recorded is None else recorded
    tripped = tripwire.check(fork, step, attempt, recorded=digest, phase=phase)
    if tripped.restored:
        fork.say(f"{step}: put back what the step changed: {', '.join(tripped.restored)}")
    if tripped.checkout:
        fork.say(
            f"{step}: files of your checkout changed while the step ran (yours? left as they are;"
            f" `conductor explain {step}` shows them): {', '.join(tripped.checkout)}"
        )
    return tripped
