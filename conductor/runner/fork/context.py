"""One fork during a run: its plan, its records, its worktree and mailbox, its state — and the
one way to record an event (`Fork.record`: through the fork's ForkLog, runner/logs/forklog.py,
which appends it with the state after it and folds it in; then the mailbox's audit log).

The run itself is forkrunner.py's; the phases it calls (reconcile.py, handout.py,
verdicts.py) each get the `Fork` to act on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conductor import secrets
from conductor.engine.confidence import signature
from conductor.engine.state import ForkState, ForkStatus, Phase
from conductor.executors.base import Executor
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.mailbox import Mailbox
from conductor.models.event import Event, EventType
from conductor.models.layout import FILED
from conductor.models.plan import StepSpec
from conductor.policy.effective import EffectivePolicy
from conductor.project import HANDOFF_DIR, private_state, state_home
from conductor.runner.fork import tasks
from conductor.runner.logs import memory as memory_module
from conductor.runner.logs import records
from conductor.runner.logs.forklog import ForkLog
from conductor.runner.logs.plans import PlanRecord, step_ids
from conductor.runner.place import detection, workspace
from conductor.runner.place.choice import fork_workspace
from conductor.runner.place.index_sync import IndexSync
from conductor.runner.place.spaces import Workspace
from conductor.sandbox.confinement import Confinement, exposed_paths, fallback_note, isolate
from conductor.sandbox.limits import Limits
from conductor.secrets import Redactor

if TYPE_CHECKING:
    from conductor.provenance.signing import Signer

open_network_note = threading.Event()  # said once per process
LIVE = (Phase.PENDING, Phase.CLAIMED, Phase.RECEIVED)  # an attempt is out, in the worktree its task names


@dataclass
class RunOptions:
    yes: bool = False
    resuming: bool = False  # `conductor resume` (or approve/reject) rather than a new build
    say: Callable[[str], None] = lambda text: None
    stop: threading.Event = field(default_factory=threading.Event)  # set: halt at the next step
    signer: Signer | None = None  # sigstore signing of step provenance, when an identity is available
    handover: str = ""  # resume changed the executor ("from X to Y"): conductor.runner.fork.switch


class Fork:
    """One fork during a run: where its records, branch, worktree and mailbox are, its state
    (folded from its log once, then kept up to date event by event), and how to record."""

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
        self.spec = plan.fork(fork_id)
        self.id = fork_id
        self.executor = executor
        self.options = options
        self.log = ForkLog(ledger, plan.id, fork_id)
        self.ref = self.log.ref
        self.branch = refs.code_branch(plan.id, fork_id)
        self.mailbox = Mailbox(repo_root / HANDOFF_DIR, plan.id, fork_id)
        self.memory = memory_module.Memory(ledger)
        secrets.declare(plan.effective(fork_id).secret_names)
        capabilities = executor.capabilities
        self.worktree: Workspace
        self.worktree, self.unlayered = fork_workspace(
            ledger=ledger,
            repo_root=repo_root,
            plan=plan.id,
            fork=fork_id,
            policy=plan.effective(fork_id),
            sandboxed_process=capabilities.sandboxed and capabilities.starts_process,
            live=any(st.phase in LIVE for st in self.state.steps.values()),
        )  # unlayered: why not layered, when worth saying (said when the fork starts)
        self.step_ids = step_ids(self.spec)
        self.watcher: detection.Watcher | None = None  # started by reconcile.reconcile(), if one runs
        self.watch_seq = 0  # events up to this seq happened before the watcher started
        self.index_sync = IndexSync(self.worktree)
        self._policies: dict[str, EffectivePolicy] = {}
        self._confinements: dict[str, Confinement] = {}

    @property
    def state(self) -> ForkState:
        """The fork's state after the last event of its log (its ForkLog keeps it)."""
        return self.log.state

    @property
    def redact(self) -> Redactor:
        """What the ledger redacts as it writes (what is digested before it is written, too)."""
        return self.ledger.redactor

    def record(
        self,
        kind: EventType,
        summary: str,
        *,
        step: str | None = None,
        attempt: int | None = None,
        data: dict[str, Any] | None = None,
        changes: records.Changes | records.Move | None = None,
    ) -> Event:
        """Append one event (and its record changes) to the fork log, with the state after it."""
        recorded = self.log.record(kind, summary, step=step, attempt=attempt, data=data, changes=changes)
        self.mailbox.append_audit(recorded)
        return recorded

    def say(self, text: str) -> None:
        self.options.say(f"[{self.plan.id}/{self.id}] {text}")

    def halt(self, reason: str) -> None:
        if self.state.status is not ForkStatus.HALTED or self.state.halt_reason != reason:
            self.record(EventType.FORK_HALTED, reason)
        self.say(f"halted: {reason}")

    def tip(self) -> Snapshot:
        tip = self.ledger.tip(self.ref)
        assert tip is not None, "a fork log starts with fork.created"
        return tip

    def step_spec(self, step: str) -> StepSpec:
        return self.plan.step(self.id, step)

    def policy(self, step: str) -> EffectivePolicy:
        if step not in self._policies:
            self._policies[step] = self.plan.effective(self.id, step)
        return self._policies[step]

    def phase(self, step: str) -> Phase:
        st = self.state.steps.get(step)
        return st.phase if st is not None else Phase.NEW

    def file_step(self, tip: Snapshot, step: str, directory: str) -> None:
        """Put a finished step's records, as the ledger has them, in the mailbox's `directory`."""
        filed = records.filed(tip, step, directory, FILED)
        if filed:
            self.mailbox.file_step(step, directory, filed)

    def learn(
        self, step: str, attempt: int, *, succeeded: bool, kind: str = "", reason: str = "", hint: str = ""
    ) -> None:
        """Record what this attempt teaches (refs/conductor/memory; idempotent)."""
        spec = self.step_spec(step)
        self.memory.record(
            memory_module.Lesson(
                plan=self.plan.id,
                fork=self.id,
                step=step,
                attempt=attempt,
                signature=signature(tasks.allowed_files(spec)),
                title=spec.title,
                succeeded=succeeded,
                kind=kind,
                reason=reason,
                hint=hint,
                files=tuple(tasks.allowed_files(spec)),
            )
        )

    def confinement(self, step: str) -> Confinement:
        """Where the processes started for `step` may write (its policy's sandbox settings)."""
        if step not in self._confinements:
            self._confinements[step] = self._confine(step)
        return self._confinements[step]

    def verify_confinement(self, step: str) -> Confinement:
        """The verify commands' confinement: the step's, but where its network is the agent
        profile's provider (not the policy's choice), none — tests have no business there."""
        confinement = self.worktree.confined(self.confinement(step), verify=True)
        if isinstance(confinement.network, tuple) and not self.policy(step).network_chosen:
            return replace(confinement, network=False)
        return confinement

    def _confine(self, step: str) -> Confinement:
        policy = self.policy(step)
        isolated = isolate(policy.sandbox_mode)
        if not isolated and policy.sandbox_mode == "auto":
            note = fallback_note()
            if note:
                self.say(note)
        root = self.worktree.repo_root
        private = private_state(root, self.ledger.git_dir, configured=policy.worktrees)
        confinement = Confinement(
            workspace=self.worktree.path,
            repo_root=root,
            git_dir=self.ledger.git_dir,
            isolated=isolated,
            network=self._network(policy),
            exposed=exposed_paths(root, os.environ, policy.exposed),
            env=tuple(workspace.environment(policy.workspace_env, self.worktree.path, os.environ).items()),
            env_names=tuple(policy.sandbox_env),
            unix_sockets=policy.unix_sockets,
            limits=Limits(**policy.limits),
            scratch=private / "sandbox",
            # every worktree and step directory of every repository: the step's own are bound back
            hidden=tuple(dict.fromkeys([private.parent, state_home()])),
        )
        return self.worktree.confined(confinement) if isolated else confinement

    def _network(self, policy: EffectivePolicy) -> bool | tuple[str, ...]:
        """What the step's commands may reach: the policy's choice; without one, the executor's
        own hosts (an agent profile's provider), else the whole network."""
        chosen = policy.sandbox_network
        hosts = self.executor.network_hosts
        if not policy.network_chosen and hosts:
            chosen = list(hosts)
        elif not policy.network_chosen and open_network_note.is_set() is False:
            open_network_note.set()
            self.say(
                "network: open to every host for the step's commands (sandbox.network is true by"
                " default); name the hosts they need instead: sandbox: {network: [HOST, ...]}"
            )
        return tuple(chosen) if isinstance(chosen, list) else chosen

    def close(self) -> None:
        """Wait for background work on the worktree; stop watching it."""
        self.index_sync.settle()
        if self.watcher is not None:
            self.watcher.close()
