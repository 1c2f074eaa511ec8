"""Ledger.plans_and_forks lists, from one listing of the fork logs, what plans() and forks()
say plan by plan: live and archived plans, each with its live and archived forks."""

from __future__ import annotations

from pathlib import Path

import pytest

from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from tests.conftest import event as ev


@pytest.fixture(params=["git", "memory"])
def ledger(request: pytest.FixtureRequest, repo: Path) -> Ledger:
    return Ledger(repo) if request.param == "git" else Ledger.in_memory()


def test_every_plan_with_its_forks_as_plans_and_forks_say(ledger: Ledger) -> None:
    def created(plan: str, *forks: str) -> None:
        ledger.append(refs.plan_log(plan), ev(EventType.PLAN_CREATED, plan=plan, fork=None))
        for fork in forks:
            ledger.append(refs.fork_log(plan, fork), ev(EventType.FORK_CREATED, plan=plan, fork=fork))

    created("alpha", "main", "b")
    created("alpha-2", "x")  # a plan whose id begins with another's
    created("lonely")  # a plan with no fork log
    ledger.append(refs.fork_log("orphan", "main"), ev(EventType.FORK_CREATED, plan="orphan"))  # no plan log
    kept = ledger.append(refs.fork_log("gone", "main"), ev(EventType.FORK_CREATED, plan="gone"))
    index = ledger.commit_records(
        None,
        {
            refs.archive_entry("gone"): f"{kept.commit}\n",
            refs.archive_entry("gone", "main"): f"{kept.commit}\n",
            refs.archive_entry("alpha", "old"): f"{kept.commit}\n",
        },
        parents=[str(kept.commit)],
        message="archive",
    )
    assert ledger.backend.set_ref(refs.ARCHIVE, index, expect=None, message="archive")
    assert ledger.backend.set_ref(
        refs.fork_log("gone", "main"), str(kept.commit), expect=str(kept.commit), message="x"
    )

    every = ledger.plans_and_forks()
    assert every == {plan: ledger.forks(plan) for plan in ledger.plans()}
    assert every == {
        "alpha": ["b", "main", "old"],
        "alpha-2": ["x"],
        "gone": ["main"],
        "lonely": [],
    }
    assert ledger.plans_and_forks("alpha") == {"alpha": ["b", "main", "old"]}  # one plan: only its forks
    assert ledger.plans_and_forks("orphan") == {"orphan": ["main"]}  # asked for, as forks() answers
