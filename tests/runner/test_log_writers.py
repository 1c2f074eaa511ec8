"""Log writers own their logs (issue 21, point 3): every event of a fork log — a run's, and those
of the writers outside a run (a plan's creation, approve, reject, abandon, revise, adopt's
prune) — keeps the fork's folded state, equal to a fold of the log up to it; every event of a
plan log carries the plan's state; and a writer that another got ahead of derives its event
again from where the log now ends."""

from __future__ import annotations

from pathlib import Path

from conductor.engine.state import ForkState, ForkStatus
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.llm.caller import Exchange
from conductor.llm.provider import LLMRequest
from conductor.models.event import EventType
from conductor.models.forkrecord import ForkRecord, PlannedStep
from conductor.runner.logs import records
from conductor.runner.logs.forklog import ForkLog
from conductor.runner.logs.planlog import PlanLog
from conductor.runner.logs.plans import record_exchanges
from tests.scenario import Project, build

ONE = [{"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}]
TWO = [*ONE, {"title": "Write two.py", "instruction": "Write two.py", "allowed_files": ["two.py"]}]
WRITE = [{"write": {"new.py": "x = 1\n"}}]


def assert_kept_is_replayed(
    proj: Project, plan: str | None = None, fork: str = "main", *, writer: EventType
) -> None:
    """Every event of the fork log keeps the state after it — the fold of the log up to it —
    and says the fork's status after it; the events `writer` records are checked first."""
    plan = plan or proj.only_plan()
    ledger = proj.ledger()
    events = list(ledger.log(refs.fork_log(plan, fork), newest_first=False))
    assert writer in [event.type for event in events]
    for n in sorted(range(len(events)), key=lambda n: events[n].type is not writer):
        kept = records.read_state(ledger.at(str(events[n].commit)), plan, fork)
        assert kept == ForkState.replay(plan, fork, events[: n + 1]), events[n].type.value
        assert events[n].state == kept.status.value, events[n].type.value


def test_a_new_plans_fork_log_starts_with_its_state(proj: Project, run_cli) -> None:
    assert run_cli("build", "--plan", proj.plan(ONE), "--exec", proj.agent({"step_001": WRITE})).code == 1
    created = proj.events()[0]
    assert created.type is EventType.FORK_CREATED
    kept = records.read_state(proj.ledger().at(str(created.commit)), proj.only_plan(), "main")
    assert kept == ForkState.replay(proj.only_plan(), "main", [created])


def test_approve_and_reject_keep_the_state_with_the_decision(proj: Project, run_cli) -> None:
    assert run_cli("build", "--plan", proj.plan(TWO), "--exec", proj.agent({"step_001": WRITE})).code == 1
    assert run_cli("approve", "step_001").code == 1  # accepted; step_002 waits in its turn
    assert run_cli("reject", "step_002", "--reason", "not this way").code == 1
    assert_kept_is_replayed(proj, writer=EventType.APPROVAL_GRANTED)
    assert_kept_is_replayed(proj, writer=EventType.APPROVAL_DENIED)


def test_abandon_keeps_the_state_with_the_end(proj: Project, run_cli) -> None:
    assert run_cli("build", "--plan", proj.plan(ONE), "--exec", proj.agent({"step_001": WRITE})).code == 1
    assert run_cli("abandon", proj.only_plan(), "--reason", "not needed").code == 0
    assert_kept_is_replayed(proj, writer=EventType.FORK_ABANDONED)


def test_revise_keeps_the_state_with_the_reopening(proj: Project, run_cli) -> None:
    command = proj.agent({"step_001": WRITE, "step_002": [{"write": {"new.py": "x = 2\n"}}]})
    assert build(run_cli, proj, proj.plan(ONE), command).code == 0
    revised = run_cli("revise", f"{proj.only_plan()}/main", "--comment", "new.py: x is 2", "--yes")
    assert revised.code == 0, revised.err
    assert_kept_is_replayed(proj, writer=EventType.FORK_RESUMED)


def test_adopt_keeps_the_state_with_the_prune_and_the_plan_log_its_state(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    explored = run_cli(
        "explore", "Add x.py", "--strategy", "one", "--strategy", "two", "--exec", command, "--yes"
    )
    assert explored.code == 0, explored.err
    plan = proj.only_plan()
    chosen, other = proj.ledger().forks(plan)
    assert run_cli("adopt", f"{plan}/{chosen}", "--prune").code == 0
    assert_kept_is_replayed(proj, plan, other, writer=EventType.FORK_PRUNED)
    assert_kept_is_replayed(proj, plan, chosen, writer=EventType.FORK_COMPLETED)
    plan_events = list(proj.ledger().log(refs.plan_log(plan), newest_first=False))
    assert plan_events[-1].type is EventType.PLAN_ADOPTED
    assert [e.state for e in plan_events if e.type is not EventType.PLAN_CREATED] == ["completed"] * (
        len(plan_events) - 1
    )


def _fork_log(repo: Path) -> ForkLog:
    ledger = Ledger(repo)
    record = ForkRecord("main", "", "conductor/p/main", "0" * 40, (PlannedStep("step_001", "Write"),))
    assert ForkLog.create(ledger, "p", record, summary="main")
    assert not ForkLog.create(ledger, "p", record, summary="main")  # a fork's log starts once
    return ForkLog(ledger, "p", "main")


def test_a_fork_log_writer_another_got_ahead_of_reads_the_log_again(repo: Path) -> None:
    log = _fork_log(repo)
    other = ForkLog(Ledger(repo), "p", "main")
    other.record(EventType.FORK_HALTED, "stopped by the other writer")
    event = log.record(EventType.NOTE, "written after it")  # its state was of seq 1: read again
    assert event.seq == 3 and event.state == "halted"
    replayed = ForkState.replay("p", "main", list(log.ledger.log(log.ref, newest_first=False)))
    assert log.state == replayed and log.state.status is ForkStatus.HALTED
    assert records.read_state(log.ledger.at(str(event.commit)), "p", "main") == replayed


def test_a_plan_log_event_carries_the_state_of_the_log_it_is_appended_to(repo: Path) -> None:
    ledger = Ledger(repo)
    log = PlanLog(ledger, "p")
    assert log.create("goal", data={}, files={"plan.json": "{}"}) is not None
    assert log.create("goal", data={}, files={"plan.json": "{}"}) is None  # never joined
    assert log.record(EventType.LLM_EXCHANGE, "a planner's call").state == "running"

    def racing(snapshot: Snapshot | None) -> dict[str, str | bytes | None]:
        if snapshot is not None and snapshot.event.type is EventType.LLM_EXCHANGE:  # once: then it moved
            PlanLog(Ledger(repo), "p").record(EventType.PLAN_HALTED, "interrupted by the other writer")
        return {}

    noted = log.record(EventType.NOTE, "appended while another writer halts the plan", changes=racing)
    assert [e.type for e in ledger.log(log.ref, newest_first=False)][-2:] == [
        EventType.PLAN_HALTED,
        EventType.NOTE,
    ]
    assert noted.state == "halted" and log.state == "halted"
    assert log.record(EventType.PLAN_RESUMED, "resumed").state == "running"


def test_a_planners_calls_carry_the_plans_state(repo: Path) -> None:
    ledger = Ledger(repo)
    PlanLog(ledger, "p").create("goal", data={}, files={"plan.json": "{}"})
    request = LLMRequest("plan", "system", "prompt", "plan", {}, scope="plan")
    record_exchanges(ledger, "p", [Exchange(request, None, "connection refused", 0.1, 1)])
    tip = ledger.tip(refs.plan_log("p"))
    assert tip is not None and tip.event.type is EventType.LLM_EXCHANGE and tip.event.state == "running"
