"""The handoff metrics the ledger keeps (runner/logs/tally.py, `refs/conductor/metrics`): a run
folds its own events onto the previous totals — its commit touches the files of its own forks
and no other plan's — and what is kept is what folding every log from the start gives, after
runs that pass, fail and are abandoned; missing or of another format, it is folded again from
every log (issue 21, point 6)."""

from __future__ import annotations

import json

import pytest

from conductor.ledger import refs
from conductor.models.event import Event, EventType
from conductor.models.layout import TALLY_FILE, tally_fork
from conductor.runner.logs import tally
from tests.commands.test_review_truths import abandoned_while_pending
from tests.conftest import git
from tests.scenario import Project, build

STEP = {"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}
VERIFIED = [{**STEP, "verify": ["test -f new.py"]}]
REPAIRED = {  # rejected (a protected file), then accepted, reporting what it spent
    "step_001": {
        "1": [{"write": {"new.py": "x = 1\n", "uv.lock": "pinned\n"}}],
        "*": [
            {"write": {"new.py": "x = 2\n"}},
            {"result": {"tokens": {"input": 7, "output": 3}, "cost": 0.25}},
        ],
    }
}
FAILING = {"*": [{"write": {"new.py": "x = 1\n", "uv.lock": "pinned\n"}}]}  # every attempt rejected


def kept(proj: Project) -> dict[str, object]:
    found = tally.read(proj.ledger())
    assert found is not None, "the ledger keeps no metrics"
    return found.metrics()


def folded(proj: Project) -> dict[str, object]:
    return tally.fold_logs(proj.ledger()).metrics()


def touched(proj: Project) -> list[str]:
    """The files the metrics log's last commit changed."""
    names = git(proj.root, "diff-tree", "-r", "--name-only", f"{refs.METRICS}~1", refs.METRICS)
    return names.split()


def shown(proj: Project, run_cli) -> dict[str, object]:
    """The metrics the mailbox shows (`metrics.json`, written as they were kept), with the
    command's count beside them."""
    projected = json.loads((proj.root / ".conductor" / "handoff" / "metrics.json").read_text())
    assert json.loads(run_cli("handoff-metrics", "--json").out)["tasks"] == projected["tasks"]
    return dict(projected)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_each_run_folds_its_own_events_and_keeps_what_folding_every_log_gives(proj: Project, run_cli) -> None:
    assert build(run_cli, proj, proj.plan(VERIFIED, name="a.yaml"), proj.agent(REPAIRED)).code == 0
    first = proj.ledger().plans()[0]
    assert kept(proj) == folded(proj) == shown(proj, run_cli)

    failed = build(run_cli, proj, proj.plan(VERIFIED, name="b.yaml"), proj.agent(FAILING))
    assert failed.code == 1, failed.err
    (second,) = set(proj.ledger().plans()) - {first}
    assert kept(proj) == folded(proj) == shown(proj, run_cli)
    assert sorted(touched(proj)) == sorted(
        [TALLY_FILE, tally_fork(second, "main"), *[p for p in touched(proj) if p.startswith("durations/")]]
    )  # the failed run's own fork, and nothing of the first plan

    third = abandoned_while_pending(proj, run_cli)  # a task handed out, then the plan abandoned
    metrics = kept(proj)
    assert metrics == folded(proj) == shown(proj, run_cli)
    assert tally_fork(third, "main") in touched(proj) and tally_fork(first, "main") not in touched(proj)
    by_state = metrics["by_state"]
    assert isinstance(by_state, dict) and sum(by_state.values()) == metrics["tasks"]
    assert by_state["completed"] == 1 and by_state["abandoned"] == 1 and by_state["open"] == 0
    assert by_state["rejected"] >= 2 and metrics["tokens"] == {"input": 7, "output": 3}
    assert metrics["cost_usd"] == 0.25

    assert run_cli("handoff-metrics", "--recompute", "--json").code == 0
    assert kept(proj) == metrics == shown(proj, run_cli)
    assert git(proj.root, "log", "-1", "--format=%s", refs.METRICS).startswith("metrics.folded *:")


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_totals_missing_or_of_another_format_are_folded_again_from_every_log(proj: Project, run_cli) -> None:
    assert build(run_cli, proj, proj.plan(VERIFIED, name="a.yaml"), proj.agent(REPAIRED)).code == 0
    first = proj.ledger().plans()[0]
    git(proj.root, "update-ref", "-d", refs.METRICS)  # a repository an older Conductor ran in
    assert tally.read(proj.ledger()) is None
    assert json.loads(run_cli("handoff-metrics", "--json").out)["tasks"] == 2  # folded from the logs
    assert tally.read(proj.ledger()) is None  # and not kept by a read
    assert build(run_cli, proj, proj.plan(VERIFIED, name="b.yaml"), proj.agent(REPAIRED)).code == 0
    assert kept(proj) == folded(proj) and kept(proj)["tasks"] == 4  # the first plan's too
    files = git(proj.root, "ls-tree", "-r", "--name-only", refs.METRICS).split()
    assert tally_fork(first, "main") in files

    ledger = proj.ledger()
    future = Event(EventType.METRICS_FOLDED, plan="*", summary="written by a later Conductor")
    ledger.append(refs.METRICS, future, {TALLY_FILE: json.dumps({"format": tally.TALLY_FORMAT + 1})})
    assert tally.read(ledger) is None
    assert build(run_cli, proj, proj.plan(VERIFIED, name="c.yaml"), proj.agent(REPAIRED)).code == 0
    assert kept(proj) == folded(proj) and kept(proj)["tasks"] == 6
    assert refs.parse(refs.METRICS) is None  # not a plan's log: `events` and `verify` pass it over
