"""The launch path shared by build, explore, fork, resume, approve and replay: resolve how to run
(executor, model, signing) before any work, record a new plan after checking its scope, run
it, and report each fork's state.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from conductor import secrets
from conductor.engine.state import Phase
from conductor.errors import ConductorError, ConfigError
from conductor.executors import registry
from conductor.executors.base import Executor
from conductor.executors.preflight import Where
from conductor.ledger import refs
from conductor.ledger.message import format_time
from conductor.ledger.store import Ledger, utc_now
from conductor.llm import config as llm_config
from conductor.llm.config import LLMSettings
from conductor.models.loader import validate
from conductor.models.origin import Origin
from conductor.models.plan import PlanSpec
from conductor.models.source import YamlDocument, read_file
from conductor.policy.effective import EffectivePolicy
from conductor.progress import say
from conductor.project import POLICY_FILE, find_root, private_state
from conductor.provenance.signing import Signing, SigningChoice, signing_for
from conductor.report import plural
from conductor.runner.fork import switch
from conductor.runner.fork.context import RunOptions
from conductor.runner.fork.tasks import allowed_files
from conductor.runner.logs import forkstate
from conductor.runner.logs.plans import (
    ANY_STATE,
    FINISHED,
    RESUMABLE,
    PlanExists,
    PlanRecord,
    latest_plan,
    load_plan,
    new_plan_id,
    record_exchanges,
    record_plan,
)
from conductor.runner.place import startpoint
from conductor.runner.place.workspace import environment as workspace_environment
from conductor.runner.plan.scheduler import Spawner, run_plan
from conductor.runner.views.status import ForkView, plan_view
from conductor.sandbox.confinement import exposed_paths, isolate

if TYPE_CHECKING:
    from conductor.llm.caller import Exchange
    from conductor.llm.planner import LLMPlanner

WILDCARDS = set("*?[")


@dataclass
class PlanRun:
    """A plan after a run: its state and each fork's, with the steps (commands show it)."""

    plan: str
    state: str
    base: str = ""
    forks: list[ForkView] = field(default_factory=list)
    review: str | None = None  # the fork the run was for (`revise`): its branch is the one to review


@dataclass(frozen=True)
class Launch:
    """How to run a new plan, as the command line says: executor, model, signing, approval."""

    executor: str | None = None
    command: str | None = None
    remote: str | None = None
    agent: str | None = None  # an agent profile (`--agent NAME`): --model and --base-url are its own
    llm: str | None = None
    model: str | None = None
    base_url: str | None = None
    base: str | None = None  # the commit to start from (`--base REF`); None: HEAD
    signing: SigningChoice = field(default_factory=SigningChoice)
    yes: bool = False


@dataclass
class Start:
    """Everything a new plan needs, resolved from the command line and the project."""

    root: Path
    ledger: Ledger
    base: str
    settings: LLMSettings | None
    executor: Executor
    signing: Signing
    yes: bool
    branch: str | None = None  # the branch `base` came from, when it is one
    from_head: bool = False  # no --base: the checkout's uncommitted changes are worth a note


def begin(launch: Launch) -> Start:
    """Resolve the launch before any work: a bad base, executor, model or signing setup stops here."""
    root = find_root()
    ledger = Ledger(root)
    base = startpoint.base_commit(root, launch.base)
    policy = project_policy(root)
    agent = chosen_agent(root, launch, policy)
    if agent is not None and launch.agent:  # --model and --base-url are the agent's
        settings = llm_config.resolve(root, llm=launch.llm, model=None, base_url=None)
    else:
        settings = llm_config.resolve(root, llm=launch.llm, model=launch.model, base_url=launch.base_url)
    isolate(policy.sandbox_mode)  # `required` without a sandbox stops here
    private_state(root, ledger.git_dir, configured=policy.worktrees)  # worktrees inside the repo stop here
    secrets.declare(policy.secret_names)
    signing = decide_signing(root, launch.signing)
    executor = registry.make(
        launch.executor, command=launch.command, llm=settings, remote=launch.remote, agent=agent
    )
    check_start(executor, root, base, policy)  # a command that cannot start stops here
    branch = startpoint.start_branch(root, launch.base)
    return Start(root, ledger, base, settings, executor, signing, launch.yes, branch, launch.base is None)


def chosen_agent(root: Path, launch: Launch, policy: EffectivePolicy) -> registry.Agent | None:
    """`--agent NAME`, or the policy's executor.agent when the command line names no executor."""
    if launch.agent:
        return registry.Agent(launch.agent, model=launch.model, base_url=launch.base_url, root=root)
    named = launch.executor or launch.command or launch.remote or launch.llm
    if policy.agent and not named:
        return registry.Agent(
            policy.agent, model=launch.model or policy.agent_model, base_url=launch.base_url, root=root
        )
    return None


def check_start(executor: Executor, root: Path, base: str, policy: EffectivePolicy) -> None:
    """Whether what the executor starts for each attempt can start where it will run (its
    preflight: a command's or an agent's program and script; nothing for one that starts none)."""
    isolated = isolate(policy.sandbox_mode)
    exposed = exposed_paths(root, os.environ, policy.exposed)
    env = workspace_environment(policy.workspace_env, root, os.environ)
    path = os.pathsep.join(p for p in env.get("PATH", os.environ.get("PATH", "")).split(os.pathsep) if p)
    where = Where(root, base, isolated, exposed, path, setup=bool(policy.items("workspace.setup")))
    executor.preflight(where)


def project_policy(root: Path) -> EffectivePolicy:
    from conductor.policy.project import effective

    return effective(root)


def decide_signing(root: Path, choice: SigningChoice | None) -> Signing:
    """Decide signing before any work starts (`always` without an identity stops here)."""
    return signing_for(choice or SigningChoice(), project_policy(root).sign)


def planner(start: Start) -> LLMPlanner:
    from conductor.llm.caller import Caller
    from conductor.llm.planner import LLMPlanner

    assert start.settings is not None
    caller = Caller(
        llm_config.make_provider(start.settings),
        retries=start.settings.retries,
        backoff_seconds=start.settings.retry_backoff_seconds,
    )
    return LLMPlanner(caller, root=start.root, policy=project_policy(start.root), base=start.base)


def load_plan_file(path: str) -> tuple[PlanSpec, YamlDocument]:
    doc = read_file(Path(path), display=path)
    return validate(doc, PlanSpec, schema="plan"), doc


def check_scope(spec: PlanSpec, policy: EffectivePolicy, doc: YamlDocument | None, path: str) -> None:
    """A step may not list a file the policy protects: say so now, not after the work is done."""
    shorthand = doc is not None and isinstance(doc.data, dict) and "steps" in doc.data
    for f_index, fork in enumerate(spec.forks):
        for s_index, step in enumerate(fork.steps):
            for p_index, pattern in enumerate(step.allowed_files):
                if WILDCARDS & set(pattern):
                    continue
                hit = policy.protected.check(pattern)
                if hit is None:
                    continue
                loc: tuple[str | int, ...] = (
                    ("steps", s_index) if shorthand else ("forks", f_index, "steps", s_index)
                )
                loc = (*loc, "allowed_files", p_index)
                raise ConfigError(
                    f"step {s_index + 1} ('{step.title}') allows '{pattern}', which is protected by"
                    f" '{hit.pattern}' ({hit.origin})",
                    path=path,
                    line=doc.line_of(loc) if doc else None,
                    field=".".join(map(str, loc)),
                    hint="remove it from allowed_files; protected files cannot be changed by a plan",
                )


def create(
    start: Start,
    spec: PlanSpec,
    *,
    plan_file: str | None,
    doc: YamlDocument | None,
    source: str,
    exchanges: list[Exchange] | None = None,
    origin: Origin | None = None,
) -> PlanRecord:
    """Record a new plan (after checking its scope against the policy) and say what it is
    (`origin`: the step of another plan it starts from, `fork --from`)."""
    if start.from_head:
        allowed = [pattern for fork in spec.forks for step in fork.steps for pattern in allowed_files(step)]
        note = startpoint.unseen_note(start.root, start.base, allowed)
        if note:
            say(note)
    policy_path = start.root / POLICY_FILE
    record = PlanRecord(
        id=new_plan_id(spec.goal),
        goal=spec.goal,
        base=start.base,
        created=format_time(utc_now()),
        source=source,
        spec=spec,
        policy_text=policy_path.read_text(encoding="utf-8") if policy_path.is_file() else None,
        plan_text=Path(plan_file).read_text(encoding="utf-8") if plan_file else None,
        plan_path=plan_file,
        executor=start.executor.settings(),
        branch=start.branch,
        origin=origin,
    )
    check_scope(spec, record.effective(spec.forks[0].id), doc, plan_file or "the planner's plan")
    for attempt in range(1, 6):  # a taken id gets a fresh one
        try:
            record_plan(start.ledger, record)
            break
        except PlanExists:
            if attempt == 5:
                raise
            record.id = new_plan_id(spec.goal)
    if exchanges:
        record_exchanges(start.ledger, record.id, exchanges)
    say(f"plan {record.id}: {spec.goal}")
    for fork in spec.forks:
        branch = refs.short_branch(record.id, fork.id)
        what = f" ({fork.strategy})" if fork.strategy else ""
        say(f"  fork {fork.id}{what}: {plural(len(fork.steps), 'step')}, branch {branch}")
    say(f"  base {start.base[:12]}, executor {start.executor.name}")
    return record


def execute(
    ledger: Ledger,
    plan: PlanRecord,
    executor: Executor,
    *,
    root: Path,
    yes: bool,
    resuming: bool = False,
    jobs: int = 1,
    spawner: Spawner | None = None,
    say_fn: Callable[[str], None] | None = None,
    signing: Signing | None = None,
    handover: str = "",
) -> PlanRun:
    """Run a recorded plan's unfinished forks, up to `jobs` at a time (`handover`: the executor
    changed, as this says; an attempt handed to the old one goes to the new one)."""
    say_fn = say_fn or say
    if signing is not None and signing.note:
        say_fn(signing.note)
    options = RunOptions(
        yes=yes,
        resuming=resuming,
        say=say_fn,
        signer=signing.signer if signing is not None else None,
        handover=handover,
    )
    outcome = run_plan(ledger, plan, executor, repo_root=root, options=options, jobs=jobs, spawner=spawner)
    view = plan_view(ledger, outcome.plan)
    return PlanRun(outcome.plan, outcome.state, plan.base, view.forks if view is not None else [])


def launched(
    start: Start,
    record: PlanRecord,
    *,
    jobs: int = 1,
    spawner: Spawner | None = None,
    say_fn: Callable[[str], None] | None = None,
) -> PlanRun:
    """Run a plan just created from `start`."""
    return execute(
        start.ledger,
        record,
        start.executor,
        root=start.root,
        yes=start.yes,
        jobs=jobs,
        spawner=spawner,
        say_fn=say_fn,
        signing=start.signing,
    )


def resume(
    plan_id: str | None,
    *,
    command: str | None = None,
    yes: bool = False,
    signing: SigningChoice | None = None,
    launch: Launch | None = None,
) -> PlanRun:
    """Continue a plan where its log ends: with the executor it last ran with, or with the one
    `launch` names (--executor/--exec/--remote/--llm), which is recorded and kept from then on."""
    launch = launch or Launch(command=command, yes=yes, signing=signing or SigningChoice())
    root = find_root()
    ledger = Ledger(root)
    plan_id = plan_id or resumable_plan(ledger)
    plan = load_plan(ledger, plan_id)
    state = ledger.tip(refs.plan_log(plan_id))
    if state is not None and state.event.state in FINISHED:
        if state.event.state != "completed":
            raise not_resumable(ledger, plan_id, str(state.event.state), state.event.summary)
        say(f"plan {plan_id} already {state.event.state}; nothing to resume")
        view = plan_view(ledger, plan_id)
        return PlanRun(plan_id, str(state.event.state), plan.base, view.forks if view is not None else [])
    sign_with = decide_signing(root, launch.signing)
    recorded = plan.effective(plan.spec.forks[0].id)
    isolate(recorded.sandbox_mode)  # `required` without a sandbox stops here
    secrets.declare([*recorded.secret_names, *project_policy(root).secret_names])
    executor = rerun_executor(root, ledger, plan, launch)
    handover = ""
    if executor.settings() != plan.executor:
        handover = switch.change_executor(ledger, plan, executor.settings(), repo_root=root)
    say(f"resuming plan {plan_id}")
    jobs = min(4, len(plan.spec.forks))
    return execute(
        ledger,
        plan,
        executor,
        root=root,
        yes=launch.yes,
        resuming=True,
        jobs=jobs,
        signing=sign_with,
        handover=handover,
    )


def rerun_executor(root: Path, ledger: Ledger, plan: PlanRecord, launch: Launch) -> Executor:
    """The recorded executor, unless the command line names one: then that, made and checked
    as build makes it (an unknown name, a missing command or model stops here)."""
    model = launch.llm or launch.model or launch.base_url
    if not (launch.executor or launch.command or launch.remote or launch.agent or model):
        return registry.from_settings(plan.executor, ledger=ledger, root=root)
    agent = chosen_agent(root, launch, project_policy(root))
    settings = None
    if agent is None and (model or registry.uses_model(launch.executor)):
        settings = llm_config.resolve(root, llm=launch.llm, model=launch.model, base_url=launch.base_url)
    executor = registry.make(
        launch.executor, command=launch.command, llm=settings, remote=launch.remote, agent=agent
    )
    check_start(executor, root, plan.base, plan.effective(plan.spec.forks[0].id))
    return executor


def resumable_plan(ledger: Ledger) -> str:
    """The most recent running or halted plan; when there is none but the latest plan failed
    (or was abandoned), say that instead of only 'nothing to resume'."""
    try:
        return latest_plan(ledger, states=RESUMABLE)
    except ConductorError:
        try:
            latest = latest_plan(ledger, states=ANY_STATE)
        except ConductorError:
            latest = None
        tip = ledger.tip(refs.plan_log(latest)) if latest is not None else None
        if latest is not None and tip is not None and tip.event.state in ("failed", "abandoned"):
            raise not_resumable(ledger, latest, str(tip.event.state), tip.event.summary) from None
        raise


def not_resumable(ledger: Ledger, plan_id: str, state: str, summary: str) -> ConductorError:
    """One message for a plan that ended without completing: what ended it, and what to do."""
    ended = []
    for fork_id in ledger.forks(plan_id):
        read = forkstate.read(ledger, plan_id, fork_id)  # the tip's event, and the state it keeps
        if read is not None and read.tip.event.state == state:
            last = read.tip.event
            accepted = [s for s in read.state.steps.values() if s.phase is Phase.COMPLETED]
            point = max(accepted, key=lambda s: s.accepted_seq).id if accepted else "base"  # the last
            ended.append((fork_id, last.step, last.summary, point))
    why = "; ".join(f"fork {fork_id}: {reason}" for fork_id, _, reason, _ in ended) or summary
    fork_id, step, _, point = ended[0] if ended else ("FORK", None, "", "STEP")
    verb = "failed" if state == "failed" else f"already {state}"
    several = len(ledger.forks(plan_id)) > 1
    where = f"--plan {plan_id}" + (f" --fork {fork_id}" if several else "")
    explain = f"see why with `conductor explain {step} {where}`; " if step else ""
    return ConductorError(
        f"plan {plan_id} {verb}; nothing to resume ({why})",
        hint=f"{explain}to try again, start a new plan from its last accepted step, with another"
        f" executor or strategy if need be: `conductor fork --from {plan_id}/{fork_id}@{point}"
        " --exec CMD` (or --strategy TEXT), or run a new plan. The old plan's records stay as they are.",
    )
