"""`fork.json` read and written through one model (issue 21, point 3): a record of 0.1.0 (no
format) reads, what is written reads back the same, and what is not a fork record is refused
with the field named, never a KeyError further on."""

from __future__ import annotations

import json
import re

import pytest

from conductor.errors import LedgerFormatError
from conductor.models.forkrecord import ForkRecord, PlannedStep

OLD = {  # as 0.1.0 wrote it (tests/fixtures/golden): no format
    "id": "main",
    "strategy": "",
    "branch": "conductor/greet-people-8eb0db73f74d/main",
    "base": "cb444cef0a76a807fa49239b26124a0fab8a2741",
    "steps": [{"id": "step_001", "title": "Create hello.py"}, {"id": "step_002", "title": "Test hello.py"}],
}


def test_an_old_record_reads_and_a_written_one_reads_back() -> None:
    record = ForkRecord.loads(json.dumps(OLD))
    assert record.step_ids == ["step_001", "step_002"] and record.base == OLD["base"]
    revised = record.with_step("step_003", "Address review comments")
    assert revised.steps[-1] == PlannedStep("step_003", "Address review comments")
    assert ForkRecord.loads(revised.dumps()) == revised
    assert json.loads(revised.dumps())["format"] == 1


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({**OLD, "format": 2}, "fork.json was written in format 2"),
        ({k: v for k, v in OLD.items() if k != "base"}, "field 'base' is missing"),
        ({**OLD, "steps": {"step_001": "x"}}, "field 'steps' is not a list"),
        ({**OLD, "steps": [{"id": "step_001", "title": 3}]}, "field 'steps[0].title' is int, not text"),
        ([OLD], "is not a JSON object"),
    ],
)
def test_what_is_not_a_fork_record_is_refused_naming_the_field(data: object, said: str) -> None:
    with pytest.raises(LedgerFormatError, match=re.escape(said)):
        ForkRecord.from_json(data)


def test_bytes_that_are_not_json_are_refused() -> None:
    with pytest.raises(LedgerFormatError, match=re.escape("fork.json: is not JSON")):
        ForkRecord.loads(b"{ not json")
