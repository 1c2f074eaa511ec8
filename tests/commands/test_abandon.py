"""`conductor abandon`: a plan that will not be finished can always be ended, and cleaned up."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from conductor.ledger import refs
from tests.conftest import conductor_bin, git, wait_until
from tests.provenance.tamper import rewrite_tip
from tests.scenario import Project


def halted(proj: Project, run_cli) -> str:
    """A plan waiting for approval (a goal that may change anything scores LOW)."""
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    assert run_cli("build", "Add x.py", "--exec", command).code == 1
    return proj.only_plan()


def test_an_abandoned_plan_is_ended_shown_and_cleaned(proj: Project, run_cli) -> None:
    plan = halted(proj, run_cli)
    ended = run_cli("abandon", plan, "--reason", "wrong approach", "--json")
    assert ended.code == 0, ended.err
    assert json.loads(ended.out) == {
        "plan": plan,
        "abandoned": ["main"],
        "already_finished": [],
        "state": "abandoned",
        "reason": "wrong approach",
    }
    kinds = [e.type.value for e in proj.events()]
    assert kinds[-1] == "fork.abandoned" and proj.events()[-1].summary == "wrong approach"
    assert f"plan {plan}  [abandoned]" in run_cli("status").out
    assert json.loads(run_cli("status", "--json").out)[0]["forks"][0]["state"] == "abandoned"
    resumed = run_cli("resume", plan)
    assert "already abandoned; nothing to resume" in resumed.err and resumed.code == 1
    assert run_cli("verify").out.startswith(f"plan {plan}")  # the latest plan, abandoned or not
    assert [e.type.value for e in proj.events()][-1] == "fork.abandoned"  # resume did nothing
    cleaned = run_cli("clean", plan)
    assert cleaned.code == 0 and "removed" in cleaned.out and not proj.worktree(plan).exists()
    again = run_cli("abandon", plan)
    assert again.code == 0 and "already finished: main" in again.out


def test_abandoning_one_fork_leaves_the_others(proj: Project, run_cli) -> None:
    command = proj.agent({"*": [{"write": {"x.py": "x = 1\n"}}]})
    started = run_cli(
        "explore", "Add x.py", "--strategy", "one way", "--strategy", "another", "--exec", command
    )
    assert started.code == 1  # both wait for approval
    plan = proj.only_plan()
    forks = proj.ledger().forks(plan)
    ended = run_cli("abandon", plan, "--fork", forks[0])
    assert ended.code == 0, ended.err
    assert "abandoned: " + forks[0] in ended.out and f"plan {plan}: halted" in ended.out
    assert proj.state(plan, forks[1]).status.value == "halted"
    missing = run_cli("abandon", plan, "--fork", "nope")
    assert missing.code == 1 and "has no fork nope" in missing.err


def test_a_plan_whose_records_cannot_be_read_is_shown_as_such_and_can_be_ended(
    proj: Project, run_cli
) -> None:
    plan = halted(proj, run_cli)
    rewrite_tip(proj.root, refs.plan_log(plan), "plan.json", lambda data: b"{ not json")
    shown = run_cli("status")
    assert shown.code == 0 and f"plan {plan}  [unreadable]" in shown.out
    assert f"conductor abandon {plan}" in shown.out
    assert run_cli("resume", plan).code != 0  # the command that fails says why
    ended = run_cli("abandon", plan, "--reason", "broken records")
    assert ended.code == 0, ended.err
    assert git(proj.root, "log", "-1", "--format=%s", refs.fork_log(plan, "main")).startswith(
        "fork.abandoned"
    )


def test_unknown_plans_are_named(proj: Project, run_cli) -> None:
    result = run_cli("abandon", "no-such-plan")
    assert result.code == 1 and "no plan 'no-such-plan'" in result.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_plan_a_conductor_process_runs_cannot_be_abandoned_under_it(proj: Project, run_cli) -> None:
    plan_file = proj.plan([{"title": "Wait", "instruction": "wait", "allowed_files": ["x.py"]}])
    running = subprocess.Popen(
        [conductor_bin(), "build", "--plan", plan_file, "--exec", "sleep 60", "--yes"],
        cwd=proj.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: (
                proj.ledger().plans()
                and proj.state().status.value == "running"
                and any(e.type.value == "task.claimed" for e in proj.events())
            ),
            what="the step to run",
        )
        refused = run_cli("abandon", proj.only_plan())
        assert refused.code == 1 and "is being run by conductor pid" in refused.err, refused.err
        assert proj.events()[-1].type.value == "task.claimed"  # nothing recorded
    finally:
        running.send_signal(signal.SIGINT)
        running.wait(30)
    assert run_cli("abandon", proj.only_plan()).code == 0  # once it has stopped
