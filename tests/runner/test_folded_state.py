"""The fork's state kept in its log's tree (docs/storage.md "The folded state"): every event the
runner records carries the state after it, a resumed run starts from it, and a log whose tip
keeps none that can be trusted is folded instead (issue 13, point 2). The writers outside a run
keep it too: tests/runner/test_log_writers.py."""

from __future__ import annotations

import json

import pytest

from conductor.engine.state import STATE_FORMAT, ForkState
from conductor.ledger import refs
from conductor.models.event import Event, EventType
from conductor.models.layout import STATE_FILE
from conductor.runner.logs import records
from tests.conftest import git
from tests.scenario import Project, build

TWO = [
    {"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]},
    {"title": "Write two.py", "instruction": "Write two.py", "allowed_files": ["two.py"]},
]
ONE = [TWO[0]]
PLAIN = {"step_001": [{"write": {"new.py": "x = 1\n"}}]}
REPAIRED = {
    "step_001": {
        "1": [{"write": {"new.py": "x = 1\n", "uv.lock": "pinned\n"}}],  # rejected: protected
        "2": [{"write": {"new.py": "x = 2\n"}}],
    },
    "step_002": [{"write": {"two.py": "y = 2\n"}}],
}


def kept_states(proj: Project) -> list[tuple[Event, ForkState | None]]:
    """Each event of the fork log, oldest first, with the state its commit keeps (or None)."""
    ledger, plan = proj.ledger(), proj.only_plan()
    return [
        (event, records.read_state(ledger.at(str(event.commit)), plan, "main"))
        for event in ledger.log(refs.fork_log(plan, "main"), newest_first=False)
    ]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_every_event_the_run_records_keeps_the_state_after_it(proj: Project, run_cli) -> None:
    plan = proj.plan(TWO)
    assert build(run_cli, proj, plan, proj.agent(REPAIRED)).code == 0
    kept = kept_states(proj)
    events = [event for event, _ in kept]
    for n, (event, state) in enumerate(kept, start=1):  # fork.created, recorded before the run, too
        assert state == ForkState.replay(proj.only_plan(), "main", events[:n]), event.type
    # a completed step's file is written as it completes, and once more by the next event (its
    # list of the step's events gains the commit that completed it); every other event rewrites
    # only state.json (what an event costs does not grow with the steps before it)
    state_dirs = [git(proj.root, "ls-tree", str(e.commit), "state").strip() for e in events]
    changed = [events[n].type.value for n in range(1, len(events)) if state_dirs[n] != state_dirs[n - 1]]
    assert changed == ["task.completed", "task.created", "task.completed", "fork.completed"]
    final = kept[-1][1]
    assert final is not None and final.status.value == "completed"
    assert [f.kind.value for f in final.steps["step_001"].failures] == ["protected_file"]
    assert final.steps["step_002"].commit is not None


def test_a_run_goes_on_from_a_tip_whose_state_is_behind_it(proj: Project, run_cli) -> None:
    plan = proj.plan(ONE)
    halted = run_cli("build", "--plan", plan, "--exec", proj.agent(PLAIN))  # MEDIUM without verify
    assert halted.code == 1 and "needs approval" in halted.err
    assert kept_states(proj)[-1][1] is not None
    ledger, plan_id = proj.ledger(), proj.only_plan()
    note = Event(EventType.NOTE, plan=plan_id, fork="main", summary="written by an older Conductor")
    ledger.append(refs.fork_log(plan_id, "main"), note)  # no folded state with it
    assert kept_states(proj)[-1][1] is None
    assert run_cli("approve", "step_001").code == 0  # folds the log once, then keeps the state
    kept = kept_states(proj)
    noted = next(n for n, (event, _) in enumerate(kept) if event.type is EventType.NOTE)
    assert all(state is not None for _, state in kept[noted + 1 :])
    assert kept[-1][1] == proj.state()
    assert proj.state().status.value == "completed"


def test_state_of_another_format_is_not_trusted(proj: Project, run_cli) -> None:
    plan = proj.plan(ONE)
    assert run_cli("build", "--plan", plan, "--exec", proj.agent(PLAIN)).code == 1
    ledger, plan_id = proj.ledger(), proj.only_plan()
    ref = refs.fork_log(plan_id, "main")
    tip = ledger.tip(ref)
    assert tip is not None
    future = json.loads(tip.read(STATE_FILE) or b"{}")
    note = Event(EventType.NOTE, plan=plan_id, fork="main", summary="written by a later Conductor")
    recorded = ledger.append(
        ref,
        note,
        fold=lambda previous, event: {
            STATE_FILE: json.dumps({**future, "format": STATE_FORMAT + 1, "seq": event.seq})
        },
    )
    assert records.read_state(ledger.at(str(recorded.commit)), plan_id, "main") is None
    assert run_cli("approve", "step_001").code == 0
    assert proj.state().status.value == "completed"
    assert kept_states(proj)[-1][1] == proj.state()
