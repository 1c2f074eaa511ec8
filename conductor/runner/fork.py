"""Running one fork: ask the engine what to do, record it, do it, repeat.

Every transition is appended to the fork log *before* anything acts on it, and the fork's
state is the fold of those events (conductor.engine.state). A crash anywhere leaves a log
from which `resume` continues: half-done work is detected and finished or redone, never
done twice (see docs/lifecycle.md for each crash point).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conductor.checks.diff import Violation
from conductor.checks.evidence import CommandEvidence
from conductor.engine import decide as engine
from conductor.engine.confidence import Assessment, assess, needs_approval, signature
from conductor.engine.failures import FailureKind, describe
from conductor.engine.state import ForkState, ForkStatus, Phase
from conductor.executors.base import Assignment, Executor, Outcome
from conductor.ledger import refs
from conductor.ledger.message import format_time
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger, utc_now
from conductor.llm.caller import Exchange
from conductor.mailbox import Found, Mailbox, write_atomic
from conductor.models.confidence import Confidence
from conductor.models.event import Event, EventType
from conductor.models.layout import BUNDLE, EXPLANATION, PROVENANCE, RESULT, TASK, WORKER
from conductor.models.paths import escape_reason
from conductor.models.result import ResultFile
from conductor.models.task import PreviousStep, RepairContext, TaskContext, TaskFile
from conductor.policy.effective import EffectivePolicy
from conductor.project import HANDOFF_DIR
from conductor.provenance.statement import StepFacts
from conductor.runner import attest, detection, inspection
from conductor.runner import memory as memory_module
from conductor.runner.plans import PlanRecord, exchange_record, step_id
from conductor.runner.worktree import Worktree, gitdir_fingerprint
from conductor.secrets import Redactor

if TYPE_CHECKING:
    from conductor.provenance.signing import Signer

EVERYTHING = ["**"]
STANDARD_CONSTRAINTS = [
    "Do NOT modify files outside allowed_files",
    "Do NOT modify protected files",
]
FINAL_STATES = {ForkStatus.COMPLETED: EventType.FORK_COMPLETED, ForkStatus.FAILED: EventType.FORK_FAILED}


@dataclass
class RunOptions:
    yes: bool = False
    resuming: bool = False  # `conductor resume` (or approve/reject) rather than a new build
    say: Callable[[str], None] = lambda text: None
    stop: threading.Event = field(default_factory=threading.Event)  # set: halt at the next step
    signer: Signer | None = None  # sigstore signing of step provenance, when an identity is available


class ForkRunner:
    def __init__(
        self,
        ledger: Ledger,
        plan: PlanRecord,
        fork_id: str,
        executor: Executor,
        *,
        repo_root: Path,
        options: RunOptions,
    ) -> None:
        self.ledger = ledger
        self.plan = plan
        self.fork = plan.fork(fork_id)
        self.executor = executor
        self.options = options
        self.ref = refs.fork_log(plan.id, fork_id)
        self.branch = refs.code_branch(plan.id, fork_id)
        self.worktree = Worktree(Worktree.location(ledger.git_dir, plan.id, fork_id), repo_root=repo_root)
        self.mailbox = Mailbox(repo_root / HANDOFF_DIR, plan.id, fork_id)
        self.memory = memory_module.Memory(ledger)
        self.redact = Redactor.from_env()
        events = list(ledger.log(self.ref, newest_first=False))
        self.state = ForkState.replay(plan.id, fork_id, events)
        self.step_ids = [step_id(i) for i in range(len(self.fork.steps))]
        self._policies: dict[str, EffectivePolicy] = {}
        self.watcher: detection.Watcher | None = None
        self._index_sync: _Background | None = None
        self._watch_seq = 0  # events up to this seq happened before the watcher started

    # -- recording ------------------------------------------------------------------------

    def record(
        self,
        kind: EventType,
        summary: str,
        *,
        step: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
        changes: Any = None,
    ) -> Event:
        status = {
            EventType.FORK_HALTED: "halted",
            EventType.FORK_COMPLETED: "completed",
            EventType.FORK_FAILED: "failed",
        }.get(kind, "running")
        event = self.ledger.append(
            self.ref,
            Event(
                kind,
                plan=self.plan.id,
                fork=self.fork.id,
                step=step,
                attempt=attempt,
                summary=summary,
                state=status,
                data=data or {},
            ),
            changes,
        )
        self.state.apply(event)
        self.mailbox.append_audit(event)
        return event

    def say(self, text: str) -> None:
        self.options.say(f"[{self.plan.id}/{self.fork.id}] {text}")

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> ForkStatus:
        self.reconcile()
        try:
            return self._loop()
        finally:
            self._settled()
            if self.watcher is not None:
                self.watcher.close()

    def _settled(self) -> None:
        """Wait for background work on the worktree (the index sync) to finish."""
        pending, self._index_sync = self._index_sync, None
        if pending is not None:
            pending.join()

    def _loop(self) -> ForkStatus:
        try:
            while True:
                if self.options.stop.is_set():
                    self.halt("interrupted (Ctrl-C); continue with `conductor resume`")
                    return ForkStatus.HALTED
                action = engine.decide(self.state, self._step_plans())
                if isinstance(action, engine.Finished):
                    return action.status
                if isinstance(action, engine.CreateTask):
                    if not self.create_task(action.step, action.attempt):
                        return ForkStatus.HALTED
                elif isinstance(action, engine.AwaitApproval):
                    self.halt(f"{action.step} is waiting for approval (conductor approve {action.step})")
                    return ForkStatus.HALTED
                elif isinstance(action, engine.Dispatch):
                    self.dispatch(action.step)
                elif isinstance(action, engine.Verify):
                    self.verify(action.step)
                elif isinstance(action, engine.Repair):
                    self.repair(action)
                elif isinstance(action, engine.FailFork):
                    self.record(EventType.FORK_FAILED, action.reason, step=action.step)
                    self.say(f"failed: {action.reason}")
                    return ForkStatus.FAILED
                elif isinstance(action, engine.CompleteFork):
                    self.record(EventType.FORK_COMPLETED, f"all {len(self.step_ids)} steps completed")
                    self.say(f"completed: branch {refs.short_branch(self.plan.id, self.fork.id)}")
                    return ForkStatus.COMPLETED
        except KeyboardInterrupt:
            self.halt("interrupted (Ctrl-C); continue with `conductor resume`")
            raise

    def halt(self, reason: str) -> None:
        if self.state.status is not ForkStatus.HALTED or self.state.halt_reason != reason:
            self.record(EventType.FORK_HALTED, reason)
        self.say(f"halted: {reason}")

    def _step_plans(self) -> list[engine.StepPlan]:
        return [engine.StepPlan(s, self.policy(s).max_attempts) for s in self.step_ids]

    def policy(self, step: str) -> EffectivePolicy:
        if step not in self._policies:
            self._policies[step] = self.plan.effective(self.fork.id, step)
        return self._policies[step]

    # -- resuming -------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring the world in line with the log: worktree, branch, mailbox (all idempotent)."""
        if self.state.status is ForkStatus.HALTED:
            self.record(EventType.FORK_RESUMED, "resumed")
        elif self.options.resuming and self.state.status is ForkStatus.RUNNING:
            self.record(EventType.FORK_RESUMED, "resumed after Conductor stopped (a crash or a kill)")
        existed = self.worktree.exists()
        if existed and self.options.resuming:
            self.worktree.refresh_index()  # a crash may have cut the index sync short
        if self.state.status in (ForkStatus.COMPLETED, ForkStatus.FAILED):
            return
        self.worktree.create(self.branch)
        self.watcher = detection.Watcher(self.worktree.path)
        self._watch_seq = self.state.last_seq
        # A step whose commit was recorded but whose branch move did not happen: finish it.
        for step in self.step_ids:
            st = self.state.steps.get(step)
            if st is not None and st.phase is Phase.COMPLETED and st.commit:
                self._advance_branch(st.commit)
        tip = self._tip()
        self._project_mailbox(tip)
        self._relearn()
        current = next((s for s in self.step_ids if self._phase(s) is not Phase.COMPLETED), None)
        if current is None:
            return
        phase = self._phase(current)
        if phase is Phase.CLAIMED and self.executor.name == "command":
            self._interrupted_command(current)
        if phase in (Phase.NEW, Phase.PENDING, Phase.FAILED):
            self.worktree.reset()  # whatever is in the worktree belongs to no live attempt

    def _project_mailbox(self, tip: Snapshot) -> None:
        """Rebuild whatever of the mailbox is missing from the ledger (it may have been deleted)."""
        self.mailbox.ensure()
        self.mailbox.write_audit(list(self.ledger.log(self.ref, newest_first=False)))
        for step in self.step_ids:
            phase = self._phase(step)
            if phase in (Phase.COMPLETED, Phase.FAILED):
                directory = "completed" if phase is Phase.COMPLETED else "failed"
                if not self.mailbox.path(directory, step, RESULT).exists():
                    self._file_step(tip, step, directory)
            elif phase is Phase.PENDING and self.mailbox.where_is_task(step) is None:
                task = tip.read_text(f"pending/{step}{TASK}")
                if task is not None:
                    self.mailbox.hand_out(step, task)
            elif phase in (Phase.CLAIMED, Phase.RECEIVED) and self.mailbox.where_is_task(step) is None:
                claimed = tip.read(f"in_progress/{step}{TASK}")
                if claimed is not None:
                    write_atomic(self.mailbox.path("in_progress", step, TASK), claimed)

    def _tip(self) -> Snapshot:
        tip = self.ledger.tip(self.ref)
        assert tip is not None
        return tip

    def _file_step(self, tip: Snapshot, step: str, directory: str) -> None:
        """Put a finished step's records, as the ledger has them, in the mailbox's `directory`."""
        records = {
            suffix: data
            for suffix in (TASK, RESULT, EXPLANATION, PROVENANCE, BUNDLE)
            if (data := tip.read(f"{directory}/{step}{suffix}")) is not None
        }
        if records:
            self.mailbox.file_step(step, directory, records)

    def _relearn(self) -> None:
        """Record the lessons of finished attempts a crash kept from being recorded (idempotent)."""
        for step in self.step_ids:
            st = self.state.steps.get(step)
            if st is None:
                continue
            for failure in st.failures:
                if failure.kind in (FailureKind.INTERRUPTED, FailureKind.LOW_CONFIDENCE):
                    continue
                info = describe(failure.kind)
                self._learn(
                    step,
                    failure.attempt,
                    succeeded=False,
                    kind=failure.kind.value,
                    reason=failure.reason,
                    hint=info.recovery,
                )
            if st.phase is Phase.COMPLETED:
                self._learn(step, st.attempt, succeeded=True)

    def _phase(self, step: str) -> Phase:
        st = self.state.steps.get(step)
        return st.phase if st is not None else Phase.NEW

    def _interrupted_command(self, step: str) -> None:
        """Conductor died while the command ran: keep its result if it finished, else retry."""
        from conductor.executors.command import kill_leftover

        worker_file = self.mailbox.path("in_progress", step, WORKER)
        killed = kill_leftover(worker_file)
        if self.mailbox.find_result(step) is not None and not killed:
            return  # the command finished before the crash: verify what it did
        st = self.state.step(step)
        self._fail_attempt(
            step,
            st.attempt,
            FailureKind.INTERRUPTED,
            "Conductor stopped while the command was running"
            + (" (its processes were killed)" if killed else ""),
        )

    def _advance_branch(self, commit: str) -> None:
        tip = self.ledger.ref_target(self.branch)
        if tip == commit or tip is None:
            return
        parent = self.ledger.commit_parent(commit)
        if parent == tip:
            self.ledger.set_branch(self.branch, commit, expect=tip)
            self.worktree.reset()

    # -- creating a task --------------------------------------------------------------------

    def create_task(self, step: str, attempt: int) -> bool:
        """Record the task (or, at LOW confidence, an approval request). False when halted."""
        spec = self.plan.step(self.fork.id, step)
        policy = self.policy(step)
        allowed = list(spec.allowed_files) or EVERYTHING
        verify = [*policy.verify_commands, *[c for c in spec.verify if c not in policy.verify_commands]]
        sig = signature(allowed)
        assessment = assess(
            allowed_files=allowed,
            verify=verify,
            history=self.memory.history(sig),
            max_diff_lines=policy.max_diff_lines,
            expected_lines=spec.expected_lines,
            planner=spec.confidence,
        )
        st = self.state.steps.get(step)
        approved = st.approved if st is not None else None
        if attempt == 1 and needs_approval(
            assessment.score, threshold=policy.approval_below, approved=approved, yes=self.options.yes
        ):
            info = describe(FailureKind.LOW_CONFIDENCE)
            self.record(
                EventType.APPROVAL_REQUESTED,
                f"{assessment.level.value.upper()} confidence {assessment.score:.2f} for '{spec.title}'",
                step=step,
                attempt=attempt,
                data={"confidence": assessment.to_json(), "failure": info.name, "hint": info.recovery},
                changes={f"evidence/{step}/confidence.json": _dumps(assessment.to_json())},
            )
            self.halt(
                f"{step} needs approval: {assessment.level.value.upper()} confidence {assessment.score:.2f}"
                f" (approve with `conductor approve {step} --plan {self.plan.id}`, or run with --yes)"
            )
            return False
        task = self._task(step, attempt, spec.title, allowed, verify, policy, assessment)
        task_json = task.to_json()
        checksum = task.checksum

        def changes(snapshot: Snapshot | None) -> dict[str, bytes | str | None]:
            out: dict[str, bytes | str | None] = {f"pending/{step}{TASK}": task_json}
            for directory in ("in_progress", "completed", "failed"):
                for suffix in (TASK, RESULT, EXPLANATION):
                    path = f"{directory}/{step}{suffix}"
                    if snapshot is not None and snapshot.exists(path):
                        out[path] = None
            out[f"evidence/{step}/policy.json"] = _dumps(policy.to_json())
            out[f"evidence/{step}/attempt_{attempt}/confidence.json"] = _dumps(assessment.to_json())
            return out

        self.record(
            EventType.TASK_CREATED,
            spec.title,
            step=step,
            attempt=attempt,
            data={
                "checksum": checksum,
                "confidence": {"score": assessment.score, "level": assessment.level.value},
                "timeout_seconds": task.timeout_seconds,
                "signature": sig,
                "gitdir": gitdir_fingerprint(self.ledger.git_dir),
            },
            changes=changes,
        )
        self.mailbox.hand_out(step, task_json)
        level = assessment.level.value.upper()
        self.say(f"{step} (attempt {attempt}): {spec.title} [{level} {assessment.score:.2f}]")
        return True

    def _task(
        self,
        step: str,
        attempt: int,
        title: str,
        allowed: list[str],
        verify: list[str],
        policy: EffectivePolicy,
        assessment: Assessment,
    ) -> TaskFile:
        spec = self.plan.step(self.fork.id, step)
        protected = [p.text for p in policy.protected.patterns]
        constraints = [
            *policy.global_constraints,
            *spec.constraints,
            *STANDARD_CONSTRAINTS[:1],
            f"{STANDARD_CONSTRAINTS[1]}: {', '.join(protected)}",
        ]
        previous = []
        tip = self.ledger.tip(self.ref)
        for earlier in self.step_ids[: self.step_ids.index(step)]:
            summary = ""
            if tip is not None:
                raw = tip.read(f"completed/{earlier}{RESULT}")
                if raw is not None:
                    summary = str(json.loads(raw).get("summary", ""))
            previous.append(
                PreviousStep(
                    task_id=earlier,
                    title=self.plan.step(self.fork.id, earlier).title,
                    status=self._phase(earlier).value,
                    summary=summary,
                )
            )
        context = TaskContext(
            goal=self.plan.goal,
            strategy=self.fork.strategy,
            plan_id=self.plan.id,
            fork_id=self.fork.id,
            previous_steps=previous,
            lessons=self.memory.lessons(signature(allowed)),
            repair=self._repair_context(step, attempt) if attempt > 1 else None,
        )
        task = TaskFile(
            task_id=step,
            instruction=self.redact.text(spec.instruction),
            allowed_files=allowed,
            constraints=[self.redact.text(c) for c in constraints],
            timeout_seconds=spec.timeout_seconds or policy.timeout_seconds,
            confidence=Confidence(score=assessment.score),
            workspace=str(self.worktree.path),
            context=context,
            verify=verify,
            attempt=attempt,
        )
        return task.sealed()

    def _repair_context(self, step: str, attempt: int) -> RepairContext | None:
        tip = self.ledger.tip(self.ref)
        raw = tip.read(f"evidence/{step}/attempt_{attempt - 1}/verdict.json") if tip else None
        if raw is None:
            return None
        verdict = json.loads(raw)
        return RepairContext(
            attempt=attempt - 1,
            failure=verdict.get("failure", ""),
            reason=verdict.get("reason", ""),
            hint=verdict.get("hint", ""),
            evidence=[str(v) for v in verdict.get("evidence", [])][:10],
            rejected_diff=str(verdict.get("diffstat", "")),
        )

    # -- handing out and waiting --------------------------------------------------------------

    def _current_task(self, step: str) -> TaskFile:
        tip = self._tip()
        for directory in ("pending", "in_progress"):
            raw = tip.read(f"{directory}/{step}{TASK}")
            if raw is not None:
                return TaskFile.from_json(raw)
        raise AssertionError(f"{step} has no task in the ledger")

    def dispatch(self, step: str) -> None:
        st = self.state.step(step)
        task = self._current_task(step)
        created = _epoch(st.created_at)
        assignment = Assignment(
            task=task,
            mailbox=self.mailbox,
            workspace=self.worktree.path,
            deadline=created + task.timeout_seconds,
            claimed=st.phase is Phase.CLAIMED,
            on_claim=lambda worker: self._claimed(step, task.attempt, worker),
            on_stale=lambda found, attempt: self._stale(step, found, attempt),
            say=self.say,
            record_llm=lambda exchange: self._record_llm(step, task.attempt, exchange),
            stop=self.options.stop,
        )
        if st.phase is Phase.CLAIMED and self.executor.name == "command":
            outcome = Outcome.RESULT  # reconcile kept a finished command's result
        else:
            outcome = self.executor.execute(assignment)
        if outcome is Outcome.STOPPED:
            return  # the loop halts the fork; resume picks the step up again
        if outcome is Outcome.TIMEOUT:
            self._timed_out(step, task)
            return
        found = self.mailbox.find_result(step)
        if found is None:  # the files vanished between seeing and reading them
            return
        self.record(
            EventType.RESULT_RECEIVED,
            f"result in {found.directory}/",
            step=step,
            attempt=task.attempt,
            data={"directory": found.directory, **_usage(found.result)},
            changes={
                f"in_progress/{step}{RESULT}": found.result,
                f"in_progress/{step}{EXPLANATION}": found.explanation,
            },
        )

    def _record_llm(self, step: str, attempt: int, exchange: Exchange) -> None:
        """Every model call an executor makes goes into the fork log, before it is acted on."""
        self.record(
            EventType.LLM_EXCHANGE,
            exchange.summary(),
            step=step,
            attempt=attempt,
            data=exchange.event_data(),
            changes=exchange_record(f"llm/{step}/attempt_{attempt}", exchange),
        )

    def _claimed(self, step: str, attempt: int, worker: dict[str, Any]) -> None:
        def changes(snapshot: Snapshot | None) -> dict[str, bytes | str | None]:
            assert snapshot is not None
            return {
                f"pending/{step}{TASK}": None,
                f"in_progress/{step}{TASK}": snapshot.read(f"pending/{step}{TASK}"),
            }

        self.record(
            EventType.TASK_CLAIMED,
            f"claimed by the {worker.get('executor', 'unknown')} executor",
            step=step,
            attempt=attempt,
            data={"worker": worker},
            changes=changes,
        )

    def _stale(self, step: str, found: Found, attempt: int) -> None:
        info = describe(FailureKind.STALE)
        current = self.state.step(step)
        self.record(
            EventType.RESULT_REFUSED,
            f"{info.name}: result for attempt {attempt}, but attempt {current.attempt} is current",
            step=step,
            attempt=current.attempt,
            data={
                "kind": FailureKind.STALE.value,
                "stale_attempt": attempt,
                "failure": info.name,
                "hint": info.recovery,
            },
            changes={
                f"evidence/{step}/attempt_{attempt}/late.result.json": found.result,
                f"evidence/{step}/attempt_{attempt}/late.explanation.md": found.explanation,
            },
        )
        if current.phase is Phase.PENDING:
            self._settled()
            self.worktree.reset()  # nobody works on the current attempt yet: the changes are stale
        self.say(f"{step}: refused a late result for attempt {attempt} ({info.recovery})")

    def _timed_out(self, step: str, task: TaskFile) -> None:
        observed = self._observe(step, self._fork_tip())
        self._fail_attempt(
            step,
            task.attempt,
            FailureKind.TIMEOUT,
            f"no result within timeout_seconds={task.timeout_seconds}",
            patch=observed.diff.patch,
            diffstat=observed.diffstat(),
        )

    # -- verification ----------------------------------------------------------------------------

    def verify(self, step: str) -> None:
        """DESIGN §6, in order: task and attempt, the diff, its size, the verify commands."""
        self._settled()
        tip = self._tip()
        task = TaskFile.from_json(tip.read(f"in_progress/{step}{TASK}") or b"")
        raw_result = tip.read(f"in_progress/{step}{RESULT}") or b""
        explanation = tip.read_text(f"in_progress/{step}{EXPLANATION}") or ""
        policy = self.policy(step)
        link_intact = self.worktree.link_intact(self.ledger.git_dir)
        if not link_intact:
            self.worktree.restore_link(self.ledger.git_dir)
        parent = self._fork_tip()
        observed = self._observe(step, parent, extra=_reported_paths(raw_result))
        verdict, result = inspection.check(
            step=step,
            task=task,
            raw_result=raw_result,
            mailbox=self.mailbox,
            observed=observed,
            policy=policy,
            link_was_intact=link_intact,
            gitdir_before=self._gitdir_at_hand_out(step),
            git_dir=self.ledger.git_dir,
        )
        if verdict.accepted and task.verify:
            verdict = inspection.run_verify(
                task.verify,
                worktree=self.worktree.path,
                timeout=policy.verify_timeout_seconds,
                say=lambda text: self.say(f"{step}: {text}"),
            )
            # whatever the commands wrote is not part of the step
            touched = self._drain()
            inspection.settle(
                self.worktree.path,
                self.ledger,
                observed,
                touched if touched is not None else detection.from_status(self.worktree.path),
            )
        if not verdict.accepted or result is None:
            assert verdict.kind is not None
            self._fail_attempt(
                step,
                task.attempt,
                verdict.kind,
                verdict.reason,
                patch=observed.diff.patch,
                violations=verdict.violations,
                evidence=verdict.evidence,
                diffstat=observed.diffstat(),
                commands=verdict.commands,
            )
            return
        self._accept(step, task, result, explanation, observed, verdict.commands)

    def _fork_tip(self) -> str:
        """The branch tip the step builds on. An executor that committed on the branch (it
        should not) gets its commits folded into the step: the branch goes back, files stay."""
        expected = self.plan.base
        for done in self.step_ids:
            st = self.state.steps.get(done)
            if st is not None and st.phase is Phase.COMPLETED and st.commit:
                expected = st.commit
        current = self.ledger.ref_target(self.branch)
        if current is not None and current != expected and self.ledger.is_ancestor(expected, current):
            self.say(
                f"the executor committed on {refs.short_branch(self.plan.id, self.fork.id)};"
                " its commits are folded into the step"
            )
            self.ledger.set_branch(self.branch, expected, expect=current)
        return expected

    def _drain(self) -> set[str] | None:
        return self.watcher.drain() if self.watcher is not None else None

    def _observe(self, step: str, parent: str, *, extra: Sequence[str] = ()) -> inspection.Observed:
        """What the current attempt changed: from the watcher when it saw the whole attempt,
        else from `git status` (slower on big repositories, same answer)."""
        st = self.state.step(step)
        candidates = None
        if self.watcher is not None and self.watcher.active and st.created_seq > self._watch_seq:
            candidates = self._drain()
            if candidates is not None:
                candidates |= set(extra)
        return inspection.observe(self.ledger, self.worktree, parent, candidates)

    def _gitdir_at_hand_out(self, step: str) -> str:
        for event in self.ledger.log(self.ref):
            if event.type is EventType.TASK_CREATED and event.step == step:
                return str(event.data.get("gitdir", ""))
        return ""

    def _accept(
        self,
        step: str,
        task: TaskFile,
        result: ResultFile,
        explanation: str,
        observed: inspection.Observed,
        commands: list[CommandEvidence],
    ) -> None:
        attempt = task.attempt
        parent = observed.parent
        lines = observed.lines
        diffstat = observed.diffstat()
        files = [c.path for c in observed.diff.changes]
        verdict = {
            "step": step,
            "attempt": attempt,
            "accepted": True,
            "checks": ["task checksum", "attempt", "paths", "protected patterns", "size", "verify commands"],
            "files": files,
            "lines": lines,
            "diffstat": diffstat,
            "commands": [c.to_json() for c in commands],
        }
        verdict_json = _dumps(verdict)
        evidence_digest = "sha256:" + hashlib.sha256(verdict_json.encode()).hexdigest()
        spec = self.plan.step(self.fork.id, step)
        summary = " ".join(result.summary.split())  # one line: no trailer can hide in it
        message = self.redact.text(
            f"{spec.title}\n\n{summary}\n\n"
            f"Conductor-Plan: {self.plan.id}\n"
            f"Conductor-Fork: {self.fork.id}\n"
            f"Conductor-Step: {step}\n"
            f"Conductor-Attempt: {attempt}\n"
            f"Conductor-Confidence: {task.confidence.score:.2f} {task.confidence.level.value}\n"
            f"Conductor-Evidence: {evidence_digest}\n"
        )
        author = self.executor.identity()
        if result.agent:
            author = (result.agent, author[1])
        records = self._records(step, attempt, commands)
        attested = attest.commit(
            self.ledger,
            tree=observed.tree,
            parent=parent,
            message=message,
            author=author,
            committer=self.ledger.identity(),
            facts=lambda payload: self._facts(step, task, payload, observed, verdict_json, records, author),
            signer=self.options.signer,
        )
        commit = attested.commit
        if attested.signing_error:
            self.say(f"{step}: provenance recorded UNSIGNED: {attested.signing_error}")

        def changes_fn(snapshot: Snapshot | None) -> dict[str, bytes | str | None]:
            assert snapshot is not None
            out: dict[str, bytes | str | None] = {
                f"completed/{step}{TASK}": snapshot.read(f"in_progress/{step}{TASK}"),
                f"completed/{step}{RESULT}": snapshot.read(f"in_progress/{step}{RESULT}"),
                f"completed/{step}{EXPLANATION}": snapshot.read(f"in_progress/{step}{EXPLANATION}"),
                f"in_progress/{step}{TASK}": None,
                f"in_progress/{step}{RESULT}": None,
                f"in_progress/{step}{EXPLANATION}": None,
                f"evidence/{step}/attempt_{attempt}/verdict.json": verdict_json,
                f"completed/{step}{PROVENANCE}": attested.statement,
            }
            if attested.bundle is not None:
                out[f"completed/{step}{BUNDLE}"] = attested.bundle
            out.update(records)
            return out

        self.record(
            EventType.TASK_COMPLETED,
            f"accepted: {spec.title}",
            step=step,
            attempt=attempt,
            data={
                "commit": commit,
                "parent": parent,
                "tree": observed.tree,
                "evidence": evidence_digest,
                "lines": lines,
                "files": len(files),
                **attested.event_data(),
            },
            changes=changes_fn,
        )
        self.ledger.set_branch(self.branch, commit, expect=parent)
        # The worktree's index catches up in the background (an O(index) git call, exact:
        # it names the committed objects); whatever next touches the index waits (_settled).
        self._index_sync = _Background(self.worktree.sync_index, observed.index_entries())
        self._file_step(self._tip(), step, "completed")
        self._learn(step, attempt, succeeded=True)
        shown = f", {diffstat}" if diffstat else ""
        self.say(f"{step}: accepted, commit {commit[:12]} ({lines} lines{shown})")

    def _facts(
        self,
        step: str,
        task: TaskFile,
        payload: bytes,
        observed: inspection.Observed,
        verdict_json: str,
        records: dict[str, str],
        author: tuple[str, str],
    ) -> StepFacts:
        """What the statement of an accepted step says (the records as they are about to be filed)."""
        tip = self._tip()
        attempt = task.attempt
        files = {
            f"completed/{step}{suffix}": tip.read(f"in_progress/{step}{suffix}") or b""
            for suffix in (TASK, RESULT, EXPLANATION)
        }
        # digests of what the ledger will hold: the ledger redacts secrets as it writes
        evidence = {
            f"evidence/{step}/attempt_{attempt}/verdict.json": self.redact.text(verdict_json).encode()
        }
        evidence.update({path: self.redact.text(text).encode() for path, text in records.items()})
        model, tokens = None, {"input": 0, "output": 0}
        for event in self.ledger.log(self.ref):
            if event.type is EventType.TASK_CREATED and event.step == step and event.attempt == attempt:
                break
            if event.type is EventType.LLM_EXCHANGE and event.step == step and event.attempt == attempt:
                model = model or event.data.get("model")
                usage = event.data.get("tokens") or {}
                tokens = {k: tokens[k] + int(usage.get(k, 0)) for k in tokens}
        st = self.state.step(step)
        return StepFacts(
            plan=self.plan.id,
            fork=self.fork.id,
            step=step,
            attempt=attempt,
            records=files,
            commit_payload=payload,
            tree=observed.tree,
            parent=observed.parent,
            task_checksum=task.checksum,
            policy=tip.read(f"evidence/{step}/policy.json") or b"",
            evidence=evidence,
            executor={"kind": self.executor.name, "name": author[0], "email": author[1]},
            model={"name": model, "tokens": tokens} if model else None,
            confidence={"score": task.confidence.score, "level": task.confidence.level.value},
            times={"task_created": st.created_at or "", "accepted": format_time(utc_now())},
            conductor_version=attest.version(),
        )

    def _records(self, step: str, attempt: int, commands: list[CommandEvidence]) -> dict[str, str]:
        return {
            f"evidence/{step}/attempt_{attempt}/verify-{i + 1}.log": f"$ {c.command}\n{c.output}"
            for i, c in enumerate(commands)
        }

    def _fail_attempt(
        self,
        step: str,
        attempt: int,
        kind: FailureKind,
        reason: str,
        *,
        patch: bytes = b"",
        violations: list[Violation] | None = None,
        evidence: list[str] | None = None,
        diffstat: str = "",
        commands: list[CommandEvidence] | None = None,
    ) -> None:
        """Record a failed attempt with its evidence, then reset the worktree to the fork tip."""
        info = describe(kind)
        lines = evidence if evidence is not None else [str(v) for v in violations or []]
        verdict = {
            "step": step,
            "attempt": attempt,
            "accepted": False,
            "kind": kind.value,
            "failure": info.name,
            "cause": info.cause,
            "reason": reason,
            "hint": info.recovery,
            "violations": [v.to_json() for v in violations or []],
            "evidence": lines,
            "diffstat": diffstat,
            "commands": [c.to_json() for c in commands or []],
        }
        records = self._records(step, attempt, commands or [])
        event_type = {
            FailureKind.TIMEOUT: EventType.TASK_TIMED_OUT,
            FailureKind.EXECUTOR_FAILED: EventType.TASK_FAILED,
            FailureKind.INTERRUPTED: EventType.TASK_FAILED,
        }.get(kind, EventType.TASK_REJECTED)

        def changes(snapshot: Snapshot | None) -> dict[str, bytes | str | None]:
            assert snapshot is not None
            out: dict[str, bytes | str | None] = {}
            for suffix in (TASK, RESULT, EXPLANATION):
                for directory in ("pending", "in_progress"):
                    source = f"{directory}/{step}{suffix}"
                    data = snapshot.read(source)
                    if data is not None:
                        out[source] = None
                        out[f"failed/{step}{suffix}"] = data
                        out[f"evidence/{step}/attempt_{attempt}/{suffix.lstrip('.')}"] = data
            out[f"evidence/{step}/attempt_{attempt}/verdict.json"] = _dumps(verdict)
            if patch:
                out[f"evidence/{step}/attempt_{attempt}/rejected.patch"] = patch
            out.update(records)
            return out

        self.record(
            event_type,
            f"{info.name}: {reason}",
            step=step,
            attempt=attempt,
            data={
                "kind": kind.value,
                "failure": info.name,
                "hint": info.recovery,
                "violations": len(violations or []),
            },
            changes=changes,
        )
        self._settled()
        self.worktree.reset()
        self._file_step(self._tip(), step, "failed")
        if kind is not FailureKind.INTERRUPTED:
            self._learn(step, attempt, succeeded=False, kind=kind.value, reason=reason, hint=info.recovery)
        self.say(f"{step}: {info.name}: {reason}")

    def _learn(
        self, step: str, attempt: int, *, succeeded: bool, kind: str = "", reason: str = "", hint: str = ""
    ) -> None:
        spec = self.plan.step(self.fork.id, step)
        self.memory.record(
            memory_module.Lesson(
                plan=self.plan.id,
                fork=self.fork.id,
                step=step,
                attempt=attempt,
                signature=signature(list(spec.allowed_files) or EVERYTHING),
                title=spec.title,
                succeeded=succeeded,
                kind=kind,
                reason=reason,
                hint=hint,
            )
        )

    # -- repair ----------------------------------------------------------------------------------

    def repair(self, action: engine.Repair) -> None:
        info = describe(action.failure.kind)
        self.record(
            EventType.REPAIR_SCHEDULED,
            f"attempt {action.attempt} after {info.name}: {info.recovery}",
            step=action.step,
            attempt=action.attempt,
            data={"after": action.failure.kind.value, "previous_attempt": action.failure.attempt},
        )


def _usage(raw: bytes) -> dict[str, Any]:
    """Tokens and cost a result reports, for the metrics (the result is validated later)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    found: dict[str, Any] = {}
    if isinstance(data.get("tokens"), dict):
        found["tokens"] = {
            k: v for k, v in data["tokens"].items() if k in ("input", "output") and isinstance(v, int)
        }
    if isinstance(data.get("cost"), int | float) and not isinstance(data.get("cost"), bool):
        found["cost"] = data["cost"]
    return found


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3])[:300] if lines else text


def _epoch(stamp: str | None) -> float:
    if not stamp:
        return time.time()
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


class _Background:
    """Run one call in a thread; join() waits and re-raises what it raised."""

    def __init__(self, func: Callable[..., object], *args: object) -> None:
        self._error: BaseException | None = None

        def target() -> None:
            try:
                func(*args)
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def _reported_paths(raw: bytes) -> list[str]:
    """The safe paths a result lists as changed: more candidates for the watcher."""
    try:
        listed = json.loads(raw).get("files_changed", [])
    except (ValueError, AttributeError):
        return []
    return (
        [p for p in listed if isinstance(p, str) and escape_reason(p) is None]
        if isinstance(listed, list)
        else []
    )
