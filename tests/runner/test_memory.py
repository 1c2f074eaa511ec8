"""Lessons on refs/conductor/memory (runner/memory.py): the newest first, a handful, read from
the signature's counts file (one read however many lessons a signature has), and memory
written before those counts kept them still read."""

from __future__ import annotations

import json
from pathlib import Path

from conductor.engine.confidence import signature_key
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.runner.memory import MAX_LESSONS, Lesson, Memory
from tests.conftest import git

SIG = "src/*.py"


def lesson(n: int, *, succeeded: bool = True) -> Lesson:
    return Lesson(
        plan="p",
        fork="main",
        step=f"step_{n:03d}",
        attempt=1,
        signature=SIG,
        title=f"Step {n}",
        succeeded=succeeded,
        kind="" if succeeded else "verify_failed",
        reason="" if succeeded else "tests failed",
    )


def ledger(tmp_path: Path) -> Ledger:
    git(tmp_path, "init", "-q")
    return Ledger(tmp_path)


def test_the_newest_lessons_come_first_and_only_a_handful(tmp_path: Path) -> None:
    memory = Memory(ledger(tmp_path))
    for n in range(1, 9):
        memory.record(lesson(n, succeeded=n != 7))
    found = memory.lessons(SIG)
    assert len(found) == MAX_LESSONS
    assert [text.split("(")[1].split(",")[0] for text in found] == [f"step_{n:03d}" for n in (8, 7, 6, 5, 4)]
    assert "failed: tests failed" in found[1]
    history = memory.history(SIG)
    assert (history.attempts, history.successes, history.failures) == (8, 7, {"verify_failed": 1})


def test_a_lesson_recorded_again_changes_nothing(tmp_path: Path) -> None:
    memory = Memory(ledger(tmp_path))
    assert memory.record(lesson(1)) is not None
    assert memory.record(lesson(1)) is None  # a resumed run
    assert memory.lessons(SIG) == ["'Step 1' (step_001, attempt 1) succeeded"]
    assert memory.history(SIG).attempts == 1


def test_memory_written_before_the_counts_kept_the_newest_lessons_is_read_too(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    key = signature_key(SIG)
    old = {
        f"lessons/{key}/p.main.step_00{n}.1.json": json.dumps(
            {"text": f"old lesson {n}", "time": f"2026-01-0{n}T00:00:00.000000Z", "step": f"step_00{n}"}
        )
        for n in (1, 2)
    }
    counts = {"signature": SIG, "attempts": 2, "successes": 2, "failures": {}}
    led.append(
        refs.MEMORY,
        Event(EventType.LESSON_RECORDED, plan="p", summary="old"),
        {f"signatures/{key}.json": json.dumps(counts), **old},
    )
    memory = Memory(led)
    assert memory.lessons(SIG) == ["old lesson 2", "old lesson 1"]
    memory.record(lesson(3))
    assert memory.lessons(SIG) == ["'Step 3' (step_003, attempt 1) succeeded", "old lesson 2", "old lesson 1"]
    assert memory.history(SIG).attempts == 3
