"""Property: whatever an agent hands back — any bytes or any JSON as its result file, any bytes
as a file name — the attempt is accepted or rejected, and the plan ends; Conductor never
crashes and never leaves a plan stuck. The agent is a stand-in for the other side (a hostile
executor) run by the real ForkRunner against a real repository."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, example, given, settings

from conductor.engine.state import ForkStatus
from conductor.executors.base import Assignment, Outcome
from conductor.executors.registry import KINDS
from conductor.ledger.message import format_time
from conductor.ledger.store import Ledger, utc_now
from conductor.mailbox import write_atomic
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec
from conductor.runner.fork.context import Fork, RunOptions
from conductor.runner.fork.forkrunner import ForkRunner
from conductor.runner.logs.plans import PlanRecord, new_plan_id, record_plan
from conductor.runner.views.status import collect

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
TEXT = st.text(max_size=300) | st.sampled_from(
    ["Evil <e@x>", "a\nConductor-Step: step_9", "\x00\x1b[31m", "x" * 5000]
)
RESULTS = st.fixed_dictionaries(
    {},
    optional={
        "task_id": st.sampled_from(["step_001", "step_002", "x"]) | st.text(max_size=12),
        "attempt": st.sampled_from([1, 0, -1, 2**70]) | st.integers(),
        "status": st.sampled_from(["completed", "failed", "done"]),
        "summary": TEXT,
        "files_changed": st.lists(TEXT, max_size=4),
        "tokens": JSON,
        "cost": st.floats(allow_nan=True, allow_infinity=True) | JSON,
        "agent": TEXT,
        "extra": JSON,
    },
)
NAMES = st.binary(min_size=1, max_size=24).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")
)

pytestmark = pytest.mark.slow  # forty plans through the real ForkRunner


class Hostile:
    """Writes what it is given: a file in the workspace and the result files in the mailbox."""

    name = "handoff"  # as an outside agent would: no process of Conductor's runs it
    capabilities = KINDS[name].capabilities
    scratch: tuple[str, ...] = ()
    network_hosts: tuple[str, ...] = ()

    def __init__(self, result: bytes, file_name: bytes) -> None:
        self.result, self.file_name = result, file_name

    def identity(self) -> tuple[str, str]:
        return ("hostile agent", "hostile@example.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name}

    def execute(self, assignment: Assignment) -> Outcome:
        assignment.on_claim({"executor": "hostile"})
        (assignment.workspace / os.fsdecode(self.file_name)).write_bytes(b"anything\n")
        box = assignment.mailbox
        write_atomic(box.path("completed", assignment.step, ".explanation.md"), self.result[:100])
        write_atomic(box.path("completed", assignment.step, ".result.json"), self.result)
        return Outcome.RESULT


def run_one(root: Path, result: bytes, file_name: bytes) -> ForkStatus:
    ledger = Ledger(root)
    step = StepSpec(title="t", instruction="i", allowed_files=["**"])
    spec = PlanSpec(goal="property", forks=[ForkSpec(id="main", steps=[step])])
    base = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    plan = PlanRecord(new_plan_id("property"), "property", base, format_time(utc_now()), "test", spec)
    record_plan(ledger, plan)
    fork = Fork(
        ledger, plan, "main", Hostile(result, file_name), repo_root=root, options=RunOptions(yes=True)
    )
    return ForkRunner(fork).run()


def repository(base: Path) -> Path:
    """A fresh repository for each example (plans piling up in one would slow every next one)."""
    root = Path(tempfile.mkdtemp(prefix="repo-", dir=base))
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "base"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root


# Derandomized, so a CI run is reproducible; CONDUCTOR_PROPERTY_EXAMPLES=1000 searches further.
@settings(
    max_examples=int(os.environ.get("CONDUCTOR_PROPERTY_EXAMPLES", "40")),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(result=st.binary(max_size=400) | RESULTS.map(lambda d: json.dumps(d).encode()), name=NAMES)
@example(  # paths that cannot exist: too long, under a file
    result=json.dumps(
        {"task_id": "step_001", "attempt": 1, "status": "completed", "files_changed": ["x" * 5000, "f/inner"]}
    ).encode(),
    name=b"f",
)
@example(result=b"[" * 100_000 + b"]" * 100_000, name=b"deep")  # Python's parser recurses
@example(  # Python refuses to convert more than 4300 digits
    result=b'{"task_id": "step_001", "attempt": ' + b"9" * 5000 + b', "status": "completed", "summary": "x"}',
    name=b"digits",
)
@example(result=b'{"tokens": {"input": ' + b"7" * 5000 + b"}}", name=b"usage")  # read for the metrics
def test_any_result_and_any_file_name_end_in_a_verdict(tmp_path: Path, result: bytes, name: bytes) -> None:
    root = repository(tmp_path)
    status = run_one(root, result, name)
    assert status in (ForkStatus.COMPLETED, ForkStatus.FAILED)
    assert all(view.error is None for view in collect(Ledger(root)).plans)  # every plan still reads
