"""How a step's records move through a real fork log (runner/logs/records.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.runner.logs import records

REF = refs.fork_log("p-0001", "main")


@pytest.fixture
def ledger(repo: Path) -> Ledger:
    ledger = Ledger(repo)
    ledger.append(
        REF, Event(EventType.FORK_CREATED, plan="p-0001", fork="main", summary="main"), {"fork.json": "{}"}
    )
    return ledger


def move(ledger: Ledger, kind: EventType, change: records.Changes | records.Move) -> Snapshot:
    event = Event(kind, plan="p-0001", fork="main", step="step_001", summary=kind.value)
    ledger.append(REF, event, change)
    tip = ledger.tip(REF)
    assert tip is not None
    return tip


def tree(tip: Snapshot) -> dict[str, bytes]:
    return {
        path: tip.read(path) or b"" for path in tip.files() if path not in ("format-version", "fork.json")
    }


def hand_out(ledger: Ledger, attempt: int) -> Snapshot:
    change = records.hand_out(
        "step_001", attempt, task=f"task {attempt}", policy="policy", confidence=f"c{attempt}"
    )
    return move(ledger, EventType.TASK_CREATED, change)


def test_an_attempt_that_is_accepted(ledger: Ledger) -> None:
    assert tree(hand_out(ledger, 1)) == {
        "pending/step_001.task.json": b"task 1",
        "evidence/step_001/policy.json": b"policy",
        "evidence/step_001/attempt_1/confidence.json": b"c1",
    }
    claimed = move(ledger, EventType.TASK_CLAIMED, records.claim("step_001"))
    assert claimed.read("in_progress/step_001.task.json") == b"task 1"
    assert not claimed.exists("pending/step_001.task.json")
    assert records.open_task(claimed, "step_001") == b"task 1"
    received = move(
        ledger, EventType.RESULT_RECEIVED, records.receive("step_001", result=b"{}", explanation="why")
    )
    assert received.read("in_progress/step_001.explanation.md") == b"why"
    accepted = move(
        ledger,
        EventType.TASK_COMPLETED,
        records.accept(
            "step_001",
            1,
            verdict="ok",
            statement=b"stmt",
            bundle=None,
            logs={"evidence/step_001/attempt_1/verify-1.log": "$ true\n"},
        ),
    )
    found = tree(accepted)
    assert not any(path.startswith("in_progress/") for path in found)
    assert found["completed/step_001.task.json"] == b"task 1"
    assert found["completed/step_001.result.json"] == b"{}"
    assert found["completed/step_001.provenance.json"] == b"stmt"
    assert "completed/step_001.provenance.sigstore.json" not in found
    assert found["evidence/step_001/attempt_1/verdict.json"] == b"ok"
    assert found["evidence/step_001/attempt_1/verify-1.log"] == b"$ true\n"
    assert records.open_task(accepted, "step_001") is None
    assert set(
        records.filed(accepted, "step_001", "completed", (".task.json", ".provenance.sigstore.json"))
    ) == {".task.json"}


def test_a_failed_attempt_is_kept_and_the_next_one_starts_clean(ledger: Ledger) -> None:
    hand_out(ledger, 1)
    move(ledger, EventType.TASK_CLAIMED, records.claim("step_001"))
    move(ledger, EventType.RESULT_RECEIVED, records.receive("step_001", result=b"{1}", explanation="one"))
    failed = move(
        ledger, EventType.TASK_REJECTED, records.fail("step_001", 1, verdict="no", patch=b"diff", logs={})
    )
    found = tree(failed)
    assert found["failed/step_001.result.json"] == found["evidence/step_001/attempt_1/result.json"] == b"{1}"
    assert found["evidence/step_001/attempt_1/task.json"] == b"task 1"
    assert found["evidence/step_001/attempt_1/rejected.patch"] == b"diff"
    assert not any(path.startswith(("in_progress/", "pending/")) for path in found)
    second = tree(hand_out(ledger, 2))
    assert not any(path.startswith("failed/") for path in second)  # cleared from the step directories…
    assert second["evidence/step_001/attempt_1/result.json"] == b"{1}"  # …kept as evidence
    assert second["pending/step_001.task.json"] == b"task 2"


def test_a_task_that_times_out_unclaimed_fails_from_pending_without_a_patch(ledger: Ledger) -> None:
    hand_out(ledger, 1)
    failed = tree(
        move(
            ledger, EventType.TASK_TIMED_OUT, records.fail("step_001", 1, verdict="late", patch=b"", logs={})
        )
    )
    assert failed["failed/step_001.task.json"] == b"task 1"
    assert "evidence/step_001/attempt_1/rejected.patch" not in failed


def test_a_late_result_is_evidence_only(ledger: Ledger) -> None:
    hand_out(ledger, 2)
    late = tree(
        move(
            ledger,
            EventType.RESULT_REFUSED,
            records.refuse_late("step_001", 1, result=b"{}", explanation="old"),
        )
    )
    assert late["evidence/step_001/attempt_1/late.result.json"] == b"{}"
    assert late["evidence/step_001/attempt_1/late.explanation.md"] == b"old"
    assert late["pending/step_001.task.json"] == b"task 2"


def test_moves_need_an_existing_log(ledger: Ledger) -> None:
    with pytest.raises(AssertionError, match="existing fork log"):
        records.claim("step_001")(None)
