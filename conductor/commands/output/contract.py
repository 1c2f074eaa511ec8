"""The JSON contract of the commands: a type for each document `--json` prints, in one
vocabulary (docs/json.md: `plan`, `fork`, `step`, `state`, `attempt`, `*_at` times in ISO 8601
UTC); schemas.py publishes a schema of each (`conductor schema output COMMAND`).

Only types: mypy checks every report's `to_json` against its document, and a test runs every
command and validates what it prints against the published schema. Records Conductor keeps
(a verdict, a policy, an event's data) are shown as recorded: their schema is the record's.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict  # pydantic reads these on Python 3.11 (schemas.py)

PlanState = Literal["running", "halted", "completed", "failed", "abandoned", "interrupted", "unreadable"]
ForkState = Literal["created", "running", "halted", "completed", "failed", "abandoned", "interrupted"]
StepState = Literal[
    "planned",
    "awaiting_approval",
    "pending",
    "in_progress",
    "verifying",
    "repair_scheduled",
    "completed",
    "failed",
    "abandoned",
]
PrAction = Literal["created", "updated", "written"]  # written: not GitHub, the text is in a file
Strategy = Literal["ff", "merge", "squash"]  # how adopt brought a fork in
Time = str
"""A moment: ISO 8601 in UTC, `2026-03-01T10:00:00.000000Z`."""


class Confidence(TypedDict):
    level: Literal["high", "medium", "low"]
    score: float | None


class Step(TypedDict):
    step: str
    state: StepState
    attempt: int | None  # the attempt the state is of (repair_scheduled: the one to come)
    confidence: Confidence | None


class Fork(TypedDict):
    fork: str
    state: ForkState
    branch: str
    last_event: str
    updated_at: Time
    steps: list[Step]


class Plan(TypedDict):
    """A plan as `conductor status` lists it."""

    plan: str
    goal: str
    state: PlanState
    created_at: Time
    origin: str | None  # the point it was forked from, PLAN/FORK@STEP
    hint: str | None
    archived: bool
    error: NotRequired[str]  # why its records cannot be read (state unreadable)
    forks: list[Fork]


class PlanRun(TypedDict):
    """A plan after a run: build, fork, resume, revise (and approve or reject, in `run`)."""

    plan: str
    state: PlanState
    base: str
    forks: list[Fork]


class Decision(TypedDict):
    plan: str
    fork: str
    step: str
    decision: Literal["approved", "rejected"]
    reason: str
    run: PlanRun | None  # the plan's run after it (null with --no-resume)


class Tally(TypedDict):
    passed: int
    total: int


class ForkSummary(TypedDict):
    """A fork as compared with the others of its plan."""

    fork: str
    strategy: str
    branch: str
    state: ForkState
    steps: Tally
    evidence: Tally  # verify commands of accepted attempts
    diff_lines: int
    confidence: float | None
    tokens: int
    repairs: int
    seconds: float | None
    spawned: bool
    waiting: list[str]  # its steps that wait for approval


class Exploration(TypedDict):
    plan: str
    state: PlanState
    base: str
    forks: list[ForkSummary]
    recommended: str | None
    reason: str


class Comparison(Exploration):
    source: Literal["recorded", "computed"]
    recorded_at: Time | None
    note: str


class ReplayedStep(TypedDict):
    fork: str
    step: str
    original_tree: str | None
    replayed_tree: str | None
    same: bool


class Replay(TypedDict):
    replay_of: str
    plan: str
    state: PlanState
    identical: bool
    steps: list[ReplayedStep]
    request_drift: list[str]


class Event(TypedDict):
    """One event (one line of `conductor events --json`); `data` as recorded (docs/storage.md)."""

    seq: int
    time: Time | None
    type: str
    plan: str
    fork: str | None
    step: str | None
    attempt: int | None
    state: str | None  # the fork's (or plan's) state after it
    summary: str
    data: dict[str, Any]
    commit: str | None
    ref: str | None


class ExplainedConfidence(Confidence):
    meaning: str


class Attempt(TypedDict):
    """One attempt of a step; `confidence` and `verdict` as recorded (attempt 0: the assessment
    of a step that waits for approval)."""

    attempt: int
    confidence: dict[str, Any] | None
    explanation: str | None
    output: dict[str, str]
    verdict: dict[str, Any] | None
    evidence_files: list[str]
    commit: str | None


class Explanation(TypedDict):
    plan: str
    fork: str
    step: str
    title: str
    instruction: str
    allowed_files: list[str]
    state: StepState
    attempt: int | None
    confidence: ExplainedConfidence | None
    attempts: list[Attempt]
    policy: dict[str, Any] | None  # the effective policy recorded for the step
    events: list[Event]
    ref: str
    branch: str


BranchState = Literal["branch", "pruned", "adopted", "missing"]


class Check(TypedDict):
    check: str
    ok: bool
    detail: str
    state: NotRequired[BranchState]  # a branch check's


class StepCheck(TypedDict):
    plan: str
    fork: str
    step: str
    attempt: int | None
    ok: bool
    signed: bool
    checks: list[Check]


class Point(TypedDict):
    """A point of a plan's history, PLAN/FORK@STEP (`step` "base": the plan's base; null: the
    branch tip)."""

    point: str
    plan: str
    fork: str
    step: str | None
    commit: str
    record: str | None  # the fork-log commit of the step's records


class PointFrom(TypedDict):
    point: str
    plan: str
    fork: str
    step: str | None
    commit: str


Inherited = TypedDict(
    "Inherited",
    {"plan": str, "from": PointFrom, "ok": bool, "checks": list[Check], "steps": list[StepCheck]},
)
"""The steps a plan made by `fork --from` inherits, checked (`from`: the point it came from)."""


class Verification(TypedDict):
    plan: str
    ok: bool
    chains: list[Check]
    branches: list[Check]
    steps: list[StepCheck]
    inherited: list[Inherited]


class Verifications(TypedDict):
    """`conductor verify` without PLAN: every plan's, newest first."""

    ok: bool
    plans: list[Verification]


class Checkout(Point):
    path: str


class FileChange(TypedDict):
    path: str
    added: int | None  # null: a binary file
    removed: int | None
    binary: bool


Diff = TypedDict(
    "Diff", {"from": Point, "to": Point, "files": list[FileChange], "added": int, "removed": int}
)


class Durations(TypedDict):
    mean: float | None
    p95: float | None


class Tokens(TypedDict):
    input: int
    output: int


class Metrics(TypedDict):
    tasks: int
    by_state: dict[str, int]  # completed, rejected, failed, timed_out, abandoned, open
    success_rate: float | None
    duration_seconds: Durations
    timeouts: int
    violations: dict[str, int]
    repairs: int
    stale_results_refused: int
    malformed_results_refused: int
    approvals_requested: int
    tokens: Tokens | None
    cost_usd: float | None


class Agent(TypedDict):
    name: str
    description: str
    origin: str
    program: str
    installed: bool
    path: str | None
    version: str | None
    install: str
    keys: dict[str, bool]
    scratch: list[str]
    command: str


class Variable(TypedDict):
    name: str
    passed: bool
    why: str


class Policy(TypedDict):
    root: str
    layers: list[str]
    values: dict[str, Any]  # each setting: {"value", "origin"}, or a list of them
    environment: list[Variable]


class PolicyCheck(TypedDict):
    path: str
    valid: bool
    sets: list[str]


class Hook(TypedDict):
    hook: str
    path: str
    action: str  # installed, updated, replaced, skipped, removed, restored, absent, foreign


class ForkName(TypedDict):
    plan: str
    fork: str


class PrePush(TypedDict):
    checked: list[ForkName]
    ok: bool
    failed: list[Verification]
    errors: list[str]
    records_left_behind: list[str]


class Init(TypedDict):
    root: str
    created_repository: bool
    written: list[str]
    kept: list[str]
    commit: str | None


class Cleaned(TypedDict):
    plan: str
    removed: list[str]
    kept: list[str]


class ArchivedPlan(TypedDict):
    plan: str
    state: PlanState
    finished_at: Time
    forks: list[str]


class Archive(TypedDict):
    dry_run: bool
    older_than: str
    archived: list[ArchivedPlan]
    kept: dict[str, int]  # why plans stay live: how many
    refs_removed: int
    archive: str
    commit: str | None


class Abandonment(TypedDict):
    plan: str
    state: PlanState
    abandoned: list[str]
    already_finished: list[str]
    reason: str


class Adoption(TypedDict):
    plan: str
    fork: str
    branch: str
    into: str
    strategy: Strategy
    previous: str
    commit: str
    up_to_date: bool
    chosen: str | None
    steps: list[str]
    pruned: list[str]
    kept: list[str]
    notes: list[str]
    tip: str


class WorkDone(TypedDict):
    plan: str
    fork: str
    step: str
    attempt: int
    state: str  # the result's: completed or failed
    claimed_at: Time
    queued_at: NotRequired[Time]
    waited_seconds: NotRequired[float]
    dispatch_seconds: NotRequired[float]


class Work(TypedDict):
    done: list[WorkDone]
    lost_claims: list[str]
    skipped: list[str]


class PullRequest(TypedDict):
    plan: str
    fork: str
    branch: str
    remote: str
    pushed: list[str]
    action: PrAction
    repo: str | None
    number: int | None
    url: str | None
    draft: bool
    title: str
    body: str
    body_file: str | None
