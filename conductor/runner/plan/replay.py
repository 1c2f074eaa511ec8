"""Replaying a plan (`conductor replay PLAN`): run a model-driven plan again from its
recordings — no network, no key — into new fork branches, and report whether every step
produced the same tree."""

from __future__ import annotations

from dataclasses import dataclass, field

from conductor.executors.llm import LLMExecutor, replay_provider
from conductor.ledger import refs
from conductor.ledger.message import format_time
from conductor.ledger.store import Ledger, utc_now
from conductor.models.event import EventType
from conductor.progress import say
from conductor.project import find_root
from conductor.runner.logs.plans import PlanRecord, derived_id, load_plan, record_plan
from conductor.runner.plan.launch import execute


@dataclass
class StepComparison:
    fork: str
    step: str
    original: str | None  # the tree the step committed in the plan replayed
    replayed: str | None  # ... and in its replay

    @property
    def same(self) -> bool:
        return self.original is not None and self.original == self.replayed


@dataclass
class Replay:
    """A replay of `source` as the new plan `plan`: each accepted step's trees compared, and the
    requests that differed from the recorded ones (`drift`)."""

    source: str
    plan: str
    state: str
    steps: list[StepComparison] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return bool(self.steps) and all(s.same for s in self.steps)


def accepted_trees(ledger: Ledger, plan: str, fork: str) -> dict[str, str]:
    """The tree each accepted step committed, by step."""
    trees = {}
    for event in ledger.log(refs.fork_log(plan, fork), newest_first=False):
        if event.type is EventType.TASK_COMPLETED and event.step:
            trees[event.step] = str(event.data.get("tree"))
    return trees


def replay(plan_id: str) -> Replay:
    root = find_root()
    ledger = Ledger(root)
    source = load_plan(ledger, plan_id)
    provider = replay_provider(ledger, plan_id)
    executor = LLMExecutor(lambda: provider, settings=provider.settings(), retries=0, backoff_seconds=0)
    record = PlanRecord(
        id=derived_id(plan_id, "replay"),
        goal=source.goal,
        base=source.base,
        created=format_time(utc_now()),
        source=f"replay:{plan_id}",
        spec=source.spec,
        policy_text=source.policy_text,
        plan_text=source.plan_text,
        plan_path=source.plan_path,
        executor=executor.settings(),
        branch=source.branch,
    )
    record_plan(ledger, record)
    say(f"replaying plan {plan_id} from its recordings as {record.id} (no network, no key)")
    outcome = execute(ledger, record, executor, root=root, yes=True, jobs=min(4, len(source.spec.forks)))
    result = Replay(plan_id, record.id, outcome.state)
    for fork in source.spec.forks:
        original = accepted_trees(ledger, plan_id, fork.id)
        replayed = accepted_trees(ledger, record.id, fork.id)
        for step in sorted(set(original) | set(replayed)):
            result.steps.append(StepComparison(fork.id, step, original.get(step), replayed.get(step)))
    result.drift = sorted(set(provider.drift))
    return result
