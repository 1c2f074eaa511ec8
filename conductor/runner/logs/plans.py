"""Plans in the ledger: creating one (plan log, fork logs, branches), reading it back, and
finding the latest.

A plan records everything needed to run or resume it without the user's current files: the
spec, the project policy file's text as it was, the plan file's text (for line numbers in
origins), the base commit and the executor settings.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conductor.engine.state import FINAL
from conductor.errors import ConductorError, NotFoundError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.forkrecord import RECORD_FORMAT, ForkRecord, PlannedStep, check_format
from conductor.models.layout import PLAN_FILE, PLAN_POLICY, llm_folder
from conductor.models.loader import validate
from conductor.models.origin import Origin
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec
from conductor.models.policy import PolicyFile
from conductor.models.source import Location, parse
from conductor.policy.effective import EffectivePolicy, PolicyLayer
from conductor.project import POLICY_FILE
from conductor.runner.logs import planlog
from conductor.runner.logs.forklog import ForkLog
from conductor.runner.logs.planlog import PlanLog

if TYPE_CHECKING:
    from conductor.ledger.snapshot import Snapshot
    from conductor.llm.caller import Exchange


def step_id(index: int) -> str:
    return f"step_{index + 1:03d}"


def step_ids(fork: ForkSpec) -> list[str]:
    """The ids of a fork's steps: step_001… or, from its `first_step` on, the old plan's numbers."""
    return [step_id(fork.first_step - 1 + i) for i in range(len(fork.steps))]


def step_index(fork: ForkSpec, step: str) -> int:
    """Where `step` (step_NNN) is in the fork's list of steps (out of range if it is not)."""
    try:
        return int(step.removeprefix("step_")) - fork.first_step
    except ValueError:
        return -1


def single_step_plan(goal: str) -> PlanSpec:
    """A plan without a planner: one fork, one step whose instruction is the goal and which may
    change any file the policy does not protect."""
    title = goal if len(goal) <= 72 else goal[:71] + "…"
    step = StepSpec(title=title, instruction=goal, allowed_files=[])
    return PlanSpec(goal=goal, forks=[ForkSpec(id="main", strategy="single strategy", steps=[step])])


ID_SUFFIX_BYTES = 6
"""48 random bits after the slug: a plan file rerun in CI a thousand times (the same slug each
time, in clones that never see each other's plans) collides with odds of about 2 in a billion.
A collision within one repository is refused anyway (record_plan)."""


def new_plan_id(goal: str, rng: random.Random | None = None) -> str:
    slug = ""
    for word in re.findall(r"[a-z0-9]+", goal.lower()):
        if slug and len(slug) + len(word) + 1 > 24:
            break
        slug = f"{slug}-{word}" if slug else word[:24]
    return f"{slug or 'plan'}-{_suffix(rng)}"


def derived_id(source: str, tag: str) -> str:
    """A new plan's id made from another's: `<source>-<tag>-<suffix>`, within the id length."""
    return f"{source[: 62 - len(tag) - 2 * ID_SUFFIX_BYTES - 1]}-{tag}-{_suffix(None)}"


def _suffix(rng: random.Random | None) -> str:
    return "".join(
        (rng or random.SystemRandom()).choice("0123456789abcdef") for _ in range(2 * ID_SUFFIX_BYTES)
    )


class PlanExists(ConductorError):
    """A new plan's id is taken: a plan is only ever joined through `conductor resume`."""


@dataclass
class PlanRecord:
    id: str
    goal: str
    base: str
    created: str
    source: str
    spec: PlanSpec
    policy_text: str | None = None
    plan_text: str | None = None
    plan_path: str | None = None
    executor: dict[str, Any] = field(default_factory=dict)
    branch: str | None = None  # the branch the plan started from (None: detached, or older plans)
    origin: Origin | None = None  # `fork --from`: the step it came from (models/origin.py)

    def to_json(self) -> dict[str, Any]:
        origin = {"origin": self.origin.to_json()} if self.origin is not None else {}
        return {
            "format": RECORD_FORMAT,
            "id": self.id,
            "goal": self.goal,
            "base": self.base,
            "created": self.created,
            "source": self.source,
            "spec": self.spec.model_dump(mode="json", exclude_none=True),
            "policy_text": self.policy_text,
            "plan_text": self.plan_text,
            "plan_path": self.plan_path,
            "executor": self.executor,
            "branch": self.branch,
            **origin,
        }

    def dumps(self) -> str:
        """`plan.json`'s text, as the plan log's tree keeps it."""
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanRecord:
        check_format(data, what=PLAN_FILE)
        return cls(
            id=data["id"],
            goal=data["goal"],
            base=data["base"],
            created=data["created"],
            source=data["source"],
            spec=PlanSpec.model_validate(data["spec"]),
            policy_text=data.get("policy_text"),
            plan_text=data.get("plan_text"),
            plan_path=data.get("plan_path"),
            executor=dict(data.get("executor") or {}),
            branch=data.get("branch"),
            origin=Origin.of_plan(data),
        )

    def fork(self, fork_id: str) -> ForkSpec:
        for fork in self.spec.forks:
            if fork.id == fork_id:
                return fork
        raise NotFoundError(f"plan {self.id} has no fork '{fork_id}'")

    def step(self, fork_id: str, step: str) -> StepSpec:
        steps = self.fork(fork_id).steps
        index = step_index(self.fork(fork_id), step)
        if not 0 <= index < len(steps):
            raise NotFoundError(f"plan {self.id} fork {fork_id} has no {step}")
        return steps[index]

    # Policy layers, rebuilt with their line numbers from the recorded texts.

    def project_layer(self) -> PolicyLayer | None:
        return _project_layer(self.policy_text) if self.policy_text is not None else None

    def _plan_location(self, fork_index: int, step_index: int | None) -> Location:
        shorthand = self.plan_text is not None and "steps" in (parse(self.plan_text, path="plan").data or {})
        if step_index is None:
            return ("policy",)
        if shorthand:
            return ("steps", step_index, "policy")
        return ("forks", fork_index, "steps", step_index, "policy")

    def _layer(self, label: str, policy: PolicyFile, at: Location) -> PolicyLayer:
        doc = parse(self.plan_text, path=self.plan_path or "plan") if self.plan_text else None
        return PolicyLayer(label, policy, doc, at)

    def _timeout_layer(self, step: str, seconds: int, at: Location) -> PolicyLayer:
        """A step's own `timeout_seconds` (beside its `policy` at `at`): the task's timeout."""
        doc = parse(self.plan_text, path=self.plan_path or "plan") if self.plan_text else None
        line = doc.line_of((*at[:-1], "timeout_seconds")) if doc is not None else None
        label = f"{doc.path}:{line}, " if doc is not None and line else ""
        policy = PolicyFile.model_validate({"behavior": {"timeout_seconds": seconds}})
        return PolicyLayer(f"{label}{step}'s own timeout_seconds", policy)

    def effective(self, fork_id: str, step: str | None = None) -> EffectivePolicy:
        """Defaults + project (as recorded) + plan + step policy, and the step's own
        timeout_seconds over them all (the timeout its task is given)."""
        layers = [layer for layer in [self.project_layer()] if layer is not None]
        if self.spec.policy is not None:
            layers.append(self._layer(f"plan {self.id}", self.spec.policy, self._plan_location(0, None)))
        if step is not None:
            spec = self.step(fork_id, step)
            fork_index = [f.id for f in self.spec.forks].index(fork_id)
            at = self._plan_location(fork_index, step_index(self.fork(fork_id), step))
            if spec.policy is not None:
                layers.append(self._layer(f"step {step}", spec.policy, at))
            if spec.timeout_seconds is not None:
                layers.append(self._timeout_layer(step, spec.timeout_seconds, at))
        return EffectivePolicy.merge(*layers)


@functools.lru_cache(maxsize=16)
def _project_layer(policy_text: str) -> PolicyLayer:
    """The recorded project policy as a layer, made once per text: every step's effective
    policy starts from it (a PolicyLayer and its PolicyFile are frozen)."""
    doc = parse(policy_text, path=POLICY_FILE)
    return PolicyLayer(POLICY_FILE, validate(doc, PolicyFile), doc, trusted=True)


def record_plan(ledger: Ledger, plan: PlanRecord) -> None:
    """Write a new plan's log and, for each fork, its branch and fork log. An id that is taken
    is refused (PlanExists), never joined — even when another process takes it meanwhile."""
    files = {
        PLAN_FILE: plan.dumps(),
        PLAN_POLICY: json.dumps(plan.effective(plan.spec.forks[0].id).to_json(), indent=2) + "\n",
    }
    created = PlanLog(ledger, plan.id).create(
        plan.goal or plan.id,
        data={"base": plan.base, "source": plan.source, "forks": [f.id for f in plan.spec.forks]},
        files=files,
    )
    if created is None:
        raise PlanExists(
            f"a plan {plan.id} is recorded already", hint=f"continue it with `conductor resume {plan.id}`"
        )
    for fork in plan.spec.forks:
        ensure_fork(ledger, plan, fork)


def ensure_fork(ledger: Ledger, plan: PlanRecord, fork: ForkSpec) -> None:
    branch = refs.code_branch(plan.id, fork.id)
    if ledger.points_at(branch) is None:
        try:
            ledger.set_branch(branch, plan.base, expect=None)
        except ConductorError as exc:
            raise ConductorError(
                f"cannot create branch {refs.short_branch(plan.id, fork.id)}: {exc.message}",
                hint="a branch named 'conductor' (without a slash) blocks conductor/*; rename it",
            ) from exc
    ForkLog.create(ledger, plan.id, fork_record(plan, fork), summary=fork.strategy or fork.id)


def fork_record(plan: PlanRecord, fork: ForkSpec) -> ForkRecord:
    """The `fork.json` of one of the plan's forks, as its log starts with it."""
    return ForkRecord(
        id=fork.id,
        strategy=fork.strategy,
        branch=refs.short_branch(plan.id, fork.id),
        base=plan.base,
        steps=tuple(PlannedStep(i, s.title) for i, s in zip(step_ids(fork), fork.steps, strict=True)),
    )


def exchange_record(
    folder: str, exchange: Exchange
) -> Callable[[Snapshot | None], dict[str, bytes | str | None]]:
    """The ledger change that files one model exchange as the next `NNN.json` in `folder`."""

    def changes(snapshot: Snapshot | None) -> dict[str, bytes | str | None]:
        count = len(snapshot.listdir(folder)) if snapshot is not None else 0
        return {
            f"{folder}/{count + 1:03d}.json": json.dumps(exchange.to_json(), indent=2, sort_keys=True) + "\n"
        }

    return changes


def record_exchanges(ledger: Ledger, plan_id: str, exchanges: list[Exchange]) -> None:
    """The planner's model calls, in the plan log (made before the plan existed, or spawning)."""
    log = PlanLog(ledger, plan_id)
    for exchange in exchanges:
        log.record(
            EventType.LLM_EXCHANGE,
            exchange.summary(),
            data=exchange.event_data(),
            changes=exchange_record(llm_folder(exchange.request.scope), exchange),
        )


RESUMABLE = ("running", "halted")
FINISHED = tuple(str(status) for status in FINAL)  # completed, failed, abandoned
ANY_STATE = (*RESUMABLE, *FINISHED)


def latest_plan(ledger: Ledger, *, states: tuple[str, ...]) -> str:
    """The most recently created plan whose state is one of `states`."""
    best: tuple[str, str] | None = None
    for plan in ledger.plans():
        tip = ledger.tip(refs.plan_log(plan))
        if tip is None or planlog.state_of(tip) not in states:
            continue
        created = load_plan(ledger, plan).created
        if best is None or created > best[0]:
            best = (created, plan)
    if best is None:
        raise ConductorError(f"no plan is {' or '.join(states)}", hint="see `conductor status`")
    return best[1]


def unknown_plan(ledger: Ledger, plan_id: str) -> NotFoundError:
    """The error every command gives for a plan the ledger does not have, naming those it has."""
    known = ", ".join(ledger.plans()) or "none"
    return NotFoundError(f"no plan '{plan_id}'", hint=f"known plans: {known}")


def load_plan(ledger: Ledger, plan_id: str) -> PlanRecord:
    tip = ledger.tip(refs.plan_log(plan_id))
    if tip is None:
        raise unknown_plan(ledger, plan_id)
    raw = tip.read(PLAN_FILE)
    if raw is None:
        raise NotFoundError(f"plan '{plan_id}' has no {PLAN_FILE} in its log")
    try:
        return PlanRecord.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # pydantic's errors are ValueErrors
        problem = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        raise ConductorError(
            f"plan '{plan_id}': its {PLAN_FILE} ({refs.plan_log(plan_id)}) cannot be read: {problem}",
            hint=f"the record was written by something other than Conductor; `conductor abandon {plan_id}`"
            " ends the plan",
        ) from None
