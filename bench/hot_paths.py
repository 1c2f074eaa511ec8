"""Conductor's own CPU on the paths every step and every process takes, each against the same
work done the way it was before it was made cheaper (issue 21, point 8):

- redaction of a stored text (`secrets.by_format`) against every credential pattern run on
  every text, which it did before each pattern was gated by the literal it needs;
- the environment's redactor (`Redactor.from_env`), remembered per environment, against making
  it anew (every credential format detector run on every variable);
- a ledger append with a step's evidence (a 15 KB command output), against the same with the
  ungated redaction;
- a step's effective policy (`PlanRecord.effective`), with the parsed policy and plan texts
  remembered, against parsing and validating them again for each step;
- a Gemini provider (one a step, and one to check the settings), whose SDK client is made at
  its first request and shared in its thread, against one that makes its own as it is made;
- a fork's change watcher ready to use, against one whose first poll waits 50 ms.

`--quick` runs each at its smallest size (the bench's test). Ratios below 1 are the savings.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import git, interleaved, report, workdir

from conductor import secrets
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models import source
from conductor.models.event import Event, EventType
from conductor.models.plan import PlanSpec
from conductor.runner.install import setup
from conductor.runner.logs import plans
from conductor.runner.logs.plans import PlanRecord
from conductor.runner.place import detection

RECORD = json.dumps(
    {
        "task_id": "step_003",
        "attempt": 2,
        "status": "completed",
        "summary": "Implemented the parser and added its tests. " * 5,
        "files": [f"src/module_{i}.py" for i in range(30)],
    },
    indent=2,
)
OUTPUT = "".join(f"tests/test_module.py::test_case_{i} PASSED{' ' * 20}[{i % 100:3d}%]\n" for i in range(200))
MESSAGE = (
    "Step step_003 completed\n\nConductor-Event: step-completed\nConductor-Plan: plan-abc\n"
    "Conductor-Fork: main\nConductor-Step: step_003\nConductor-Seq: 12\n"
)
POLICY = setup.policy_text(Path(__file__).resolve().parent.parent)  # what `conductor init` writes


def ungated(text: str) -> str:
    """by_format as it was: every pattern run over the whole text."""
    for kind, pattern in secrets.FORMATS:
        text = pattern.sub(f"[redacted:{kind}]", text)
    text = secrets.URL_PASSWORD.sub(lambda m: f"{m.group(1)}:[redacted:password]@", text)
    return secrets.KEYWORD_VALUE.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + "[redacted]", text)


def repeat(func: Callable[[], object], times: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(times):
            func()

    return run


def per(name: str, ours: Callable[[], object], base: Callable[[], object], times: int, rounds: int) -> None:
    ours_t, base_t = interleaved(repeat(ours, times), repeat(base, times), rounds=rounds)
    report(name, ours_t / times, base_t / times, 1.0)


def redaction(scale: int, rounds: int) -> None:
    for label, text in (
        ("a result record", RECORD),
        ("a 15 KB command output", OUTPUT),
        ("an event", MESSAGE),
    ):
        assert secrets.by_format(text) == ungated(text)
        per(
            f"redacting {label} ({len(text):,} chars): gated vs every pattern",
            functools.partial(secrets.by_format, text),
            functools.partial(ungated, text),
            10 * scale,
            rounds,
        )


def environment(scale: int, rounds: int) -> None:
    secrets.Redactor.from_env()  # detect-secrets imported once, for both sides

    def anew() -> None:
        secrets._credential_parts.cache_clear()
        secrets._from_env.__wrapped__(tuple(__import__("os").environ.items()), secrets.declared())

    per("the environment's redactor: remembered vs made anew", secrets.Redactor.from_env, anew, scale, rounds)


def appends(scale: int, rounds: int) -> None:
    root = workdir("hot-append")
    git(root, "init", "-q")
    ledger = Ledger(root)
    ref = refs.fork_log("bench", "main")
    counter = iter(range(10**9))

    def append() -> None:
        i = next(counter)
        ledger.append(
            ref,
            Event(
                EventType.NOTE, plan="bench", fork="main", step="step_001", attempt=1, summary=f"event {i}"
            ),
            {"evidence/step_001.out": f"{i}\n{OUTPUT}", "completed/step_001.result.json": RECORD},
        )

    def before() -> None:
        with mock.patch.object(secrets, "by_format", ungated):
            append()

    try:
        append()
        per(
            "a ledger append with a step's evidence: gated vs ungated redaction",
            append,
            before,
            scale,
            rounds,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def effective(scale: int, rounds: int) -> None:
    plan_text = "goal: g\nsteps:\n" + "".join(
        f"  - title: step {i}\n    instruction: do {i}\n    allowed_files: [f{i}.txt]\n"
        f"    policy:\n      behavior:\n        timeout_seconds: {60 + i}\n"
        for i in range(20)
    )
    data = source.parse(plan_text, path="plan.yaml").data
    spec = PlanSpec.model_validate(
        {"goal": data["goal"], "forks": [{"id": "main", "strategy": "s", "steps": data["steps"]}]}
    )
    record = PlanRecord(
        id="p",
        goal="g",
        base="0" * 40,
        created="",
        source="plan",
        spec=spec,
        policy_text=POLICY,
        plan_text=plan_text,
        plan_path="plan.yaml",
    )

    def cold() -> None:  # as before: each parse and validation done again
        source._remembered.cache_clear()
        plans._project_layer.cache_clear()
        record.effective("main", "step_005")

    def warm() -> None:
        record.effective("main", "step_005")

    source._remembered.cache_clear()
    plans._project_layer.cache_clear()
    first = record.effective("main", "step_005").to_json()
    assert record.effective("main", "step_005").to_json() == first
    per("a step's effective policy: texts remembered vs parsed again", warm, cold, scale, rounds)


def gemini(scale: int, rounds: int) -> None:
    try:
        from conductor.llm.gemini import GeminiProvider
    except ImportError:
        print("a Gemini provider: google-genai is not installed, skipped")
        return

    def made() -> GeminiProvider:
        return GeminiProvider(model="m", base_url="http://127.0.0.1:9", key="bench-key")

    def before() -> None:  # each provider made its own client as it was made
        made()._make_client()

    per(
        "a Gemini provider, one a step: the thread's client vs its own",
        lambda: made().client,
        before,
        min(scale, 3),
        rounds,
    )


def watcher(scale: int, rounds: int) -> None:
    root = workdir("hot-watch")
    for i in range(20):
        (root / f"d{i}").mkdir()
        (root / f"d{i}" / "f.txt").write_text("x\n")

    def ready() -> None:
        detection.Watcher(root).close()

    def before() -> None:
        with mock.patch.object(detection, "WAIT_MS", 50):
            ready()

    try:
        ready()
        start = time.process_time()
        per(
            "a fork's change watcher ready (wall time): 5 ms polls vs 50 ms",
            ready,
            before,
            min(scale, 3),
            rounds,
        )
        print(f"  (CPU of both sides: {(time.process_time() - start) * 1000:.0f} ms)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each measurement at its smallest size")
    quick = parser.parse_args().quick
    scale, rounds = (1, 3) if quick else (20, 9)
    for measure in (redaction, environment, appends, effective, gemini, watcher):
        measure(scale, rounds)


if __name__ == "__main__":
    main()
