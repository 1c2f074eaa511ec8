"""The bounded reader (conductor/models/untrusted.py): any bytes are parsed or refused with a
message that says why, never a RecursionError, a ValueError of Python's own or a hang; files
are read regular, unlinked and capped."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from conductor.models import untrusted
from conductor.models.claim import WorkerClaim
from conductor.models.result import ResultFile
from conductor.models.resultcheck import problems
from conductor.models.untrusted import MAX_DEPTH, MAX_NUMBER, UntrustedError, load_model, loads, read_file

VALID = {"task_id": "step_001", "attempt": 1, "status": "completed", "summary": "done"}


def refused(raw: bytes) -> str:
    with pytest.raises(UntrustedError) as caught:
        loads(raw, name="r.json")
    assert caught.value.message.startswith("r.json: ")
    return caught.value.message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested 100000 levels deep (at most 64)"),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested 100000 levels deep"),
        (b"[" * 100_000, "nested 100000 levels deep"),  # unterminated: refused before parsing
        (b'{"attempt": ' + b"9" * 5000 + b"}", "a number of 5000 characters (at most 64)"),
        (b'{"cost": 0.' + b"1" * 5000 + b"}", "a number of 5002 characters"),
        (b'{"cost": 1e999}', "a number too large to represent (1e999)"),
        (b'{"cost": NaN}', "NaN is not a JSON number"),
        (b'{"cost": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"attempt": 1, "attempt": 2}', "the key 'attempt' appears twice in one object"),
        (b'{"a": "\xff"}', "not UTF-8 text (byte 0xff at offset 7)"),
        (b'{"summary": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b'{"task_id": "step_001",\n "attempt": 1,,\n}', "Invalid JSON at line 2, column 15"),
    ],
)
def test_what_is_out_of_bounds_is_refused_saying_why(raw: bytes, words: str) -> None:
    assert words in refused(raw)


def test_what_is_inside_the_bounds_is_read_as_json_reads_it() -> None:
    deepest = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert loads(deepest, name="r") == json.loads(deepest)
    assert loads(b'["\\ud83d\\ude00", "[[[[", "\\"{{"]', name="r") == ["\U0001f600", "[[[[", '"{{']
    assert loads(b"-" + b"9" * (MAX_NUMBER - 1), name="r") == -int("9" * (MAX_NUMBER - 1))
    assert loads('{"s": "é"}', name="r") == {"s": "é"}


def test_brackets_inside_strings_do_not_count_and_an_odd_string_does_not_slow_the_count() -> None:
    assert untrusted.nesting(b'["[[[[", "\\"[[[", {"k": "]]]"}]') == 2
    hostile = b'"' + b'\\" [' * 300_000  # every quote an escaped one: one unterminated string
    started = time.monotonic()
    assert untrusted.nesting(hostile) == 0
    assert time.monotonic() - started < 5  # linear: a quadratic scan would take minutes


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_megabyte_of_the_worst_shapes_is_read_in_well_under_a_second() -> None:
    for raw in (
        b"[" + b"[]," * 350_000 + b"[]]",
        b"[" + b'"",' * 350_000 + b'""]',
        b"[" + b"1," * 500_000 + b"1]",
    ):
        started = time.monotonic()
        loads(raw, name="r")
        assert time.monotonic() - started < 5  # linear: a quadratic scan would take minutes


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=20,
)
FRAGMENTS = st.sampled_from(
    [b"[", b"]", b"{", b"}", b'"', b"\\", b":", b",", b"NaN", b"1e999", b"9" * 70, b"\\ud800", b"\xff", b" "]
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@settings(max_examples=150, derandomize=True, deadline=None)
@given(value=JSONISH)
def test_the_nesting_counted_without_parsing_is_the_real_one(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert untrusted.nesting(raw) == depth_of(value)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@settings(max_examples=500, derandomize=True, deadline=None)
@given(raw=st.binary(max_size=300) | st.lists(FRAGMENTS, max_size=60).map(b"".join))
def test_any_bytes_are_read_or_refused_and_a_result_gets_a_list_of_problems(raw: bytes) -> None:
    try:
        loads(raw, name="r")
    except UntrustedError as exc:
        assert exc.problems and all(p.startswith("r: ") for p in exc.problems)
    assert isinstance(problems(raw, name="r", step="step_001", attempt=1), list)
    with pytest.raises(UntrustedError):  # nothing here is a valid result
        ResultFile.from_json(raw)


def test_models_are_validated_strictly_and_every_problem_is_named() -> None:
    assert ResultFile.from_json(json.dumps(VALID)).attempt == 1
    for wrong, words in (
        ({"attempt": True}, "attempt: must be a valid integer"),
        ({"attempt": 1.0}, "attempt: must be a valid integer"),
        ({"attempt": "1"}, "attempt: must be a valid integer"),
        ({"cost": "0.1"}, "cost: must be a valid number"),
        ({"summary": "a\x1b]52;c;cHduZWQ=\x07"}, "summary: must not contain control characters"),
        ({"agent": "evil\x9b31m"}, "agent: must not contain control characters"),
        (
            {"command": "rm -rf /"},
            "command: not a field of a result file (`conductor schema result` lists them)",
        ),
    ):
        with pytest.raises(UntrustedError) as caught:
            ResultFile.from_json(json.dumps({**VALID, **wrong}), name="r.json")
        assert any(p.startswith(f"r.json: {words}") for p in caught.value.problems), caught.value.problems
    with pytest.raises(UntrustedError, match="must be a JSON object"):
        load_model(ResultFile, b"[]", name="r.json")


def test_a_claim_has_its_fields_and_no_others() -> None:
    claim = load_model(WorkerClaim, b'{"name": "w", "host": "h", "claimed_at": 1.5}', name="c")
    assert claim.to_json() == {"name": "w", "host": "h", "claimed_at": 1.5}
    for raw, words in (
        (b'{"name": "w", "claimed_at": 1, "command": "rm -rf /"}', "command: not a field of"),
        (b'{"name": "w\\u001b]0;pwned\\u0007", "claimed_at": 1}', "name: must not contain control"),
        (b'{"name": "", "claimed_at": 1}', "name: "),
        (b'{"name": "w", "claimed_at": -1}', "claimed_at: "),
    ):
        with pytest.raises(UntrustedError, match=words):
            load_model(WorkerClaim, raw, name="c")


def test_files_are_read_regular_unlinked_and_capped(tmp_path: Path) -> None:
    regular = tmp_path / "result.json"
    regular.write_bytes(b"{}")
    assert read_file(regular, limit=2) == b"{}"
    link = tmp_path / "link.json"
    link.symlink_to(regular)
    with pytest.raises(UntrustedError, match=r"link\.json is a symbolic link"):
        read_file(link)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # nobody writes it: opening it for reading must not wait
    with pytest.raises(UntrustedError, match=r"fifo\.json is not a regular file"):
        read_file(fifo)
    sparse = tmp_path / "sparse.json"
    with open(sparse, "wb") as handle:
        handle.truncate(64 * 1024**3)  # 64 GiB that take no disk: only limit + 1 bytes are read
    started = time.monotonic()
    with pytest.raises(UntrustedError, match=r"sparse.json is over the 1024-byte limit \(behavior.x\)"):
        read_file(sparse, limit=1024, setting="behavior.x")
    assert time.monotonic() - started < 5  # 64 GiB read would take minutes
    with pytest.raises(FileNotFoundError):
        read_file(tmp_path / "none.json")
