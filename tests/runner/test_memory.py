"""Lessons on refs/conductor/memory (runner/logs/memory.py): the newest first, a handful, read from
the signature's counts file (one read however many lessons a signature has), memory written
before those counts kept them still read, and only lessons related to the asking step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor.engine.confidence import signature_key
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType
from conductor.runner.logs.memory import MAX_LESSONS, Asking, Lesson, Memory, related
from tests.conftest import git

SIG = "src/*.py"
FILES = ("src/app.py",)
ASKING = Asking("q", "main", "step_001", FILES)


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
        files=FILES,
    )


def ledger(tmp_path: Path) -> Ledger:
    git(tmp_path, "init", "-q")
    return Ledger(tmp_path)


def test_the_newest_lessons_come_first_and_only_a_handful(tmp_path: Path) -> None:
    memory = Memory(ledger(tmp_path))
    for n in range(1, 9):
        memory.record(lesson(n, succeeded=n != 7))
    found = memory.lessons(SIG, ASKING)
    assert len(found) == MAX_LESSONS
    assert [text.split("(")[1].split(",")[0] for text in found] == [f"step_{n:03d}" for n in (8, 7, 6, 5, 4)]
    assert "failed: tests failed" in found[1]
    history = memory.history(SIG)
    assert (history.attempts, history.successes, history.failures) == (8, 7, {"verify_failed": 1})


def test_a_lesson_recorded_again_changes_nothing(tmp_path: Path) -> None:
    memory = Memory(ledger(tmp_path))
    assert memory.record(lesson(1)) is not None
    assert memory.record(lesson(1)) is None  # a resumed run
    assert memory.lessons(SIG, ASKING) == ["'Step 1' (step_001, attempt 1) succeeded"]
    assert memory.history(SIG).attempts == 1


def test_memory_written_before_the_counts_kept_the_newest_lessons_is_read_too(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    key = signature_key(SIG)
    old = {
        f"lessons/{key}/p.main.step_00{n}.1.json": json.dumps(
            {
                "text": f"old lesson {n}",
                "time": f"2026-01-0{n}T00:00:00.000000Z",
                **{"plan": "p", "fork": "main", "step": f"step_00{n}", "files": list(FILES)},
            }
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
    assert memory.lessons(SIG, ASKING) == ["old lesson 2", "old lesson 1"]
    memory.record(lesson(3))
    assert memory.lessons(SIG, ASKING) == [
        "'Step 3' (step_003, attempt 1) succeeded",
        "old lesson 2",
        "old lesson 1",
    ]
    assert memory.history(SIG).attempts == 3


def test_only_lessons_of_related_steps_are_carried_and_always_the_steps_own(tmp_path: Path) -> None:
    memory = Memory(ledger(tmp_path))
    memory.record(lesson(1, succeeded=False))
    memory.record(
        Lesson("p", "main", "step_002", 1, SIG, "Other", False, "verify_failed", "x", files=("src/b.py",))
    )
    assert memory.lessons(SIG, Asking("q", "main", "step_001", ["src/c.py"])) == []
    assert len(memory.lessons(SIG, Asking("q", "main", "step_001", ["src/**"]))) == 2
    assert len(memory.lessons(SIG, Asking("p", "main", "step_002", ["src/c.py"]))) == 1  # its own


@pytest.mark.parametrize(
    ("step", "lesson", "expected"),
    [
        (["hello.py"], ["hello.py"], True),
        (["/hello.py"], ["hello.py", "README.md"], True),
        (["hello.py"], ["other.py"], False),
        (["src"], ["src/a.py"], True),  # a folder holds its files
        (["src/a.py"], ["src/*.py"], True),
        (["src/docs/a.md"], ["src/*.py"], False),
        (["src/**"], ["src/*.md"], True),
        (["src/**"], ["lib/**"], False),
        (["**"], ["hello.py"], False),  # patterns any plan shares relate nothing
        (["*.py"], ["hello.py"], False),
        (["**/test_*.py"], ["**/test_*.py"], False),
    ],
)
def test_steps_are_related_through_files_and_folders_of_their_own(
    step: list[str], lesson: list[str], expected: bool
) -> None:
    assert related(step, lesson) is expected
    assert related(lesson, step) is expected
