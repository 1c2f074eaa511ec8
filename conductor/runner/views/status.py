"""The status read model: plans and forks with their states, read from the ledger tips.

`conductor status` shows the newest plans first, a screenful unless told otherwise
(`collect`); the launch path shows the one it ran (`plan_view`). A plan whose log says it
runs but whose runner holds no lock any more (killed, the machine restarted) is shown as
interrupted (`runner_alive`). Archived plans (`conductor archive`) are listed with --all from
the summaries the archive keeps (`ARCHIVED_SUMMARY`), without reading their logs.

The cost follows what is shown: the plan refs are listed once with their tips' commit times
(one `git for-each-ref`), plans are read newest tip first until no older one can be among
the newest shown, and their forks are listed in one more `git for-each-ref`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from conductor.engine.state import ABANDONED_STEP, ForkState, ForkStatus, Phase, StepState, left_open
from conductor.errors import ConductorError, LedgerFormatError
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.models.layout import PLAN_FILE, StepPaths
from conductor.runner.logs import planlog, records
from conductor.runner.logs.forklog import read_record
from conductor.runner.logs.planlock import runner_alive


@dataclass
class StepView:
    """A step's state as data: `state` (STEP_STATES) and the attempt it is of — for
    `repair_scheduled` the attempt to come; None before the first — never prose."""

    step: str
    state: str
    attempt: int | None = None
    confidence: dict[str, Any] | None = None  # level and score, as its current attempt was assessed

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepView:
        attempt = data.get("attempt")
        return cls(
            step=str(data["step"]),
            state=str(data["state"]),
            attempt=int(attempt) if isinstance(attempt, int) else None,
            confidence=data.get("confidence") if isinstance(data.get("confidence"), dict) else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "state": self.state,
            "attempt": self.attempt,
            "confidence": self.confidence,
        }


@dataclass
class ForkView:
    fork: str
    state: str
    branch: str
    steps: list[StepView] = field(default_factory=list)
    last_event: str = ""
    updated_at: str = ""  # the time of the fork log's last event (ISO 8601, UTC)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ForkView:
        if "fork" not in data:  # an archived summary written before 0.2 (ARCHIVED_SUMMARY)
            return _legacy_fork(data)
        return cls(
            fork=str(data["fork"]),
            state=str(data["state"]),
            branch=str(data["branch"]),
            steps=[StepView.from_json(step) for step in data.get("steps", [])],
            last_event=str(data.get("last_event", "")),
            updated_at=str(data.get("updated_at", "")),
        )

    def to_json(self) -> dict[str, Any]:
        """As an archived summary keeps it (and `conductor status --json` shows it)."""
        return {
            "fork": self.fork,
            "state": self.state,
            "branch": self.branch,
            "steps": [step.to_json() for step in self.steps],
            "last_event": self.last_event,
            "updated_at": self.updated_at,
        }

    def step(self, step: str) -> StepView | None:
        return next((s for s in self.steps if s.step == step), None)


@dataclass
class PlanView:
    plan: str
    goal: str
    state: str
    created_at: str
    forks: list[ForkView] = field(default_factory=list)
    origin: str | None = None  # PLAN/FORK@STEP it was forked from (`conductor fork --from`)
    error: str | None = None  # why its records cannot be read (state "unreadable")
    hint: str | None = None  # what to do next (an interrupted plan: resume it)
    archived: bool = False  # folded into refs/conductor/archive by `conductor archive`

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanView:
        return cls(
            plan=str(data.get("plan") or data["id"]),  # `id`: a summary archived before 0.2
            goal=str(data.get("goal", "")),
            state=str(data.get("state", "")),
            created_at=str(data.get("created_at") or data.get("created") or ""),
            forks=[ForkView.from_json(fork) for fork in data.get("forks", [])],
            origin=data.get("origin"),
            hint=data.get("hint"),
            archived=bool(data.get("archived", False)),
        )

    def to_json(self) -> dict[str, Any]:
        """As an archived summary keeps it (ARCHIVED_SUMMARY)."""
        return {
            "plan": self.plan,
            "goal": self.goal,
            "state": self.state,
            "created_at": self.created_at,
            "origin": self.origin,
            "hint": self.hint,
            "archived": self.archived,
            "forks": [f.to_json() for f in self.forks],
        }


def _legacy_fork(data: dict[str, Any]) -> ForkView:
    """A fork of a summary archived before 0.2: `id`, steps as `{"step_001": "completed (attempt
    2)"}` beside a `confidence` map, `updated` as `2026-03-01 10:00:00`. Read once, when such an
    archive is listed; nothing writes this form any more."""
    confidence = dict(data.get("confidence") or {})
    steps = []
    for step, shown in dict(data.get("steps") or {}).items():
        name, _, rest = str(shown).partition(" (attempt ")
        number = rest.rstrip(")")
        steps.append(
            StepView(
                str(step),
                name.replace(" ", "_"),
                int(number) if number.isdigit() else None,
                confidence.get(step),
            )
        )
    updated = str(data.get("updated", ""))
    return ForkView(
        fork=str(data["id"]),
        state=str(data["state"]),
        branch=str(data["branch"]),
        steps=steps,
        last_event=str(data.get("last_event", "")),
        updated_at=f"{updated[:10]}T{updated[11:19]}Z" if len(updated) >= 19 else updated,
    )


STEP_STATES = {  # a step's state as every --json shows it (docs/json.md), by its phase
    Phase.NEW: "planned",
    Phase.AWAITING_APPROVAL: "awaiting_approval",
    Phase.PENDING: "pending",
    Phase.CLAIMED: "in_progress",
    Phase.RECEIVED: "verifying",
    Phase.COMPLETED: "completed",
    Phase.FAILED: "failed",
}
REPAIR_SCHEDULED = "repair_scheduled"  # a failed attempt's repair, not handed out yet


INTERRUPTED = "interrupted"
RESUME_HINT = (
    "its runner is gone (killed, or the machine restarted): continue it with `conductor resume {plan}`"
)


def step_state(fork: ForkStatus, step: StepState) -> tuple[str, int | None]:
    """A step's state and the attempt it is of: an open step of an abandoned fork is abandoned,
    a failed attempt whose repair is scheduled is `repair_scheduled` with the attempt to come."""
    if left_open(fork, step.phase):
        return ABANDONED_STEP, step.attempt or None
    if step.phase is Phase.NEW and step.attempt:
        return REPAIR_SCHEDULED, step.attempt + 1
    return STEP_STATES[step.phase], step.attempt or None


def step_states(ledger: Ledger, ref: str, tip: Snapshot, plan: str, fork: str) -> tuple[str, list[StepView]]:
    """The fork's state and each step's (planned steps included), with its confidence (level and
    score, as the current attempt's task.created or approval.requested recorded it). Read from
    the tip alone when it keeps the folded state (records.read_state); else the log is folded."""
    state = records.read_state(tip, plan, fork)
    if state is not None:
        confidence = _tip_confidence(tip, state)
    else:
        events = list(ledger.log(ref, newest_first=False))
        state = ForkState.replay(plan, fork, events)
        confidence = _event_confidence(events)
    steps: dict[str, StepView] = {}
    try:
        record = read_record(tip)
    except LedgerFormatError:  # shown from the fold alone; verify names what is wrong with it
        record = None
    if record is not None:  # a step not started when its fork was abandoned never will be
        planned = ABANDONED_STEP if state.status is ForkStatus.ABANDONED else STEP_STATES[Phase.NEW]
        for spec in record.steps:
            steps[spec.id] = StepView(spec.id, planned)
    for step, st in state.steps.items():
        name, attempt = step_state(state.status, st)
        steps[step] = StepView(step, name, attempt, confidence.get(step))
    return state.status.value, [steps[step] for step in sorted(steps)]


def _event_confidence(events: list[Event]) -> dict[str, dict[str, Any]]:
    """Each step's confidence as the last task.created or approval.requested recorded it."""
    confidence: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.step and event.type in (EventType.TASK_CREATED, EventType.APPROVAL_REQUESTED):
            found = event.data.get("confidence") if isinstance(event.data, dict) else None
            if isinstance(found, dict) and isinstance(found.get("level"), str):
                confidence[event.step] = {"level": found["level"], "score": found.get("score")}
    return confidence


def _tip_confidence(tip: Snapshot, state: ForkState) -> dict[str, dict[str, Any]]:
    """The same from the folded state; for a step whose state has no level, from the tip's
    records: the assessment of its current attempt (its task's, or the one that asked for
    approval of a later attempt)."""
    confidence: dict[str, dict[str, Any]] = {}
    for step, st in state.steps.items():
        if st.level is not None:
            confidence[step] = {"level": st.level, "score": st.confidence}
            continue
        paths = StepPaths(step)
        choices = [paths.attempt(st.attempt).confidence] if st.attempt else []
        if st.awaiting_attempt > st.attempt:
            choices.insert(0, paths.assessment)
        else:
            choices.append(paths.assessment)
        for path in choices:
            raw = tip.read(path)
            found = json.loads(raw) if raw else None
            if isinstance(found, dict) and isinstance(found.get("level"), str):
                confidence[step] = {"level": found["level"], "score": found.get("score")}
                break
    return confidence


def plan_view(
    ledger: Ledger,
    plan_id: str,
    *,
    alive: Callable[[str], bool] | None = None,
    tip: Snapshot | None = None,
    forks: Iterable[str] | None = None,
) -> PlanView | None:
    """One plan with its forks and steps; None when there is no such plan. With `alive`, a
    plan recorded as running whose runner is not alive is shown as interrupted, and so are
    its forks that say running. `tip` and `forks`, when the caller has them, save reading
    the plan log's tip and listing its forks again."""
    tip = tip or ledger.tip(refs.plan_log(plan_id))
    if tip is None:
        return None
    info = json.loads(tip.read_text(PLAN_FILE) or "{}")
    source = str(info.get("source"))
    view = PlanView(
        plan=plan_id,
        goal=str(info.get("goal", "")),
        state=planlog.state_of(tip),
        created_at=str(info.get("created", "")),
        origin=source.removeprefix("fork:") if source.startswith("fork:") else None,
    )
    interrupted = view.state == "running" and alive is not None and not alive(plan_id)
    if interrupted:
        view.state = INTERRUPTED
        view.hint = RESUME_HINT.format(plan=plan_id)
    for fork_id in ledger.forks(plan_id) if forks is None else forks:
        ref = refs.fork_log(plan_id, fork_id)
        fork_tip = ledger.tip(ref)
        if fork_tip is None:
            continue
        state, steps = step_states(ledger, ref, fork_tip, plan_id, fork_id)
        if interrupted and state == "running":
            state = INTERRUPTED
        view.forks.append(
            ForkView(
                fork=fork_id,
                state=state,
                branch=refs.short_branch(plan_id, fork_id),
                steps=steps,
                last_event=fork_tip.event.type.value,
                updated_at=fork_tip.event.time or "",
            )
        )
    return view


DEFAULT_LIMIT = 20  # plans in the default view: a screenful
MANY = 200  # plans shown past which their forks are listed with one prefix, not one each
ARCHIVED_SUMMARY = "status.json"  # beside each archived plan's index entry: its PlanView


def archived_summary_path(plan: str) -> str:
    return f"{refs.ARCHIVE_PLANS}/{plan}/{ARCHIVED_SUMMARY}"


@dataclass
class Listing:
    """The plans shown, newest first, and how many were left out."""

    plans: list[PlanView]
    older: int = 0  # live plans past the limit
    archived: int = 0  # archived plans not listed (only --all lists them)


def collect(ledger: Ledger, *, limit: int | None = DEFAULT_LIMIT) -> Listing:
    """The newest `limit` plans (None: every plan, archived ones too), newest first (by
    creation time, then by id); one whose records cannot be read is listed with the error,
    not skipped. Liveness is this machine's: see planlock.runner_alive."""
    alive = functools.partial(runner_alive, ledger.git_dir)
    live = ledger.newest_first(ledger.ref_tips(refs.PLANS_PREFIX))
    # Newest tip first: a plan was created before its log's last event, so once a tip is older
    # than the oldest plan kept, no plan after it can be among the newest `limit`.
    read: list[tuple[str, str, Snapshot | None, str | None]] = []  # created, plan, tip, error; in order
    for name, target in live:
        if (
            limit is not None
            and len(read) >= limit
            and _iso(ledger.commit_time(target) + 1) <= read[limit - 1][0]
        ):
            break
        plan_id = name[len(refs.PLANS_PREFIX) :]
        try:
            tip = ledger.tip(name)
            created = str(json.loads((tip.read_text(PLAN_FILE) if tip else None) or "{}").get("created", ""))
            bisect.insort(read, (created, plan_id, tip, None), key=_order)
        except (ConductorError, ValueError) as exc:
            failed = exc.message if isinstance(exc, ConductorError) else str(exc)
            bisect.insort(read, ("", plan_id, None, failed), key=_order)
    shown = read if limit is None else read[:limit]
    prefixes = [refs.fork_log(plan_id, "") for _, plan_id, _, _ in shown]
    if len(prefixes) > MANY:  # one prefix for them all: any number of plans fits one command
        prefixes = [refs.FORKS_PREFIX]
    forks: dict[str, list[str]] = {}
    for name, _ in ledger.ref_tips(*prefixes) if prefixes else []:
        plan_id, _, fork_id = name[len(refs.FORKS_PREFIX) :].partition("/")
        forks.setdefault(plan_id, []).append(fork_id)
    views = []
    for _, plan_id, tip, error in shown:
        view: PlanView | None
        try:
            if error is not None:
                raise ConductorError(error)
            listed = set(forks.get(plan_id, [])) | set(ledger.archived_forks(plan_id))
            view = plan_view(ledger, plan_id, alive=alive, tip=tip, forks=sorted(listed))
        except (ConductorError, ValueError) as exc:
            message = exc.message if isinstance(exc, ConductorError) else str(exc)
            view = PlanView(plan_id, "", "unreadable", "", error=message)
        if view is not None:
            views.append(view)
    names = {name for name, _ in live}
    archived = [plan for plan in ledger.archived_plans() if refs.plan_log(plan) not in names]
    if limit is None:
        views += [archived_view(ledger, plan) for plan in archived]
        views.sort(key=lambda view: view.created_at, reverse=True)  # stable: equal times keep id order
        return Listing(views)
    return Listing(views, older=len(live) - len(views), archived=len(archived))


def _order(found: tuple[str, str, Snapshot | None, str | None]) -> tuple[_Desc, str]:
    return (_Desc(found[0]), found[1])


class _Desc(str):
    """A string that sorts backwards (newest creation time first)."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:
        return str.__lt__(self, other)


def _iso(epoch: int) -> str:
    """An epoch second as plan records write times (`2026-03-01T10:00:00.000000Z`)."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def archived_view(ledger: Ledger, plan_id: str) -> PlanView:
    """An archived plan as `conductor archive` summed it up (its logs are not read)."""
    raw = ledger.archived_record(archived_summary_path(plan_id))
    try:
        view = PlanView.from_json(json.loads(raw or b"{}") | {"plan": plan_id})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a fork or step not an object
        view = PlanView(plan_id, "", "unreadable", "", error=f"its archived summary is unreadable: {exc}")
    view.archived = True
    return view
