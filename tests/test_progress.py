"""The live progress board: the latest line per fork, on a terminal and off it."""

from __future__ import annotations

import io
import sys
import threading
import time

import pytest
from rich.console import Console

from conductor.progress import Board, say


def test_board_keeps_the_latest_line_per_fork() -> None:
    board = Board(live=False)
    board.say("[plan-1/alpha] step_001: running")
    board.say("[plan-1/beta] step_001: asking gemini")
    board.say("[plan-1/alpha] step_001: accepted, commit abc")
    board.say("a line without a prefix")
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(board._render())
    text = console.export_text()
    assert "alpha" in text and "accepted, commit abc" in text and "running" not in text
    assert "beta" in text and "asking gemini" in text
    assert "(plan)" in text and "a line without a prefix" in text


class SlowStream(io.StringIO):
    """A stream that gives other threads a chance to write between any two writes."""

    def write(self, text: str) -> int:
        written = 0
        for char in text:  # one character at a time, yielding in between: a race shows
            written += super().write(char)
            time.sleep(0)
        return written


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@pytest.mark.parametrize("via", ["say", "board"])
def test_lines_from_many_threads_never_run_together(via: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = SlowStream()
    monkeypatch.setattr(sys, "stderr", stream)
    board = Board(live=False)
    write = say if via == "say" else board.say
    expected = {
        f"[plan-1/fork-{t}] step_{n:03d}: line {n} of thread {t}" for t in range(8) for n in range(25)
    }

    def fork(t: int) -> None:
        for n in range(25):
            write(f"[plan-1/fork-{t}] step_{n:03d}: line {n} of thread {t}")

    threads = [threading.Thread(target=fork, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = stream.getvalue()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == len(expected) and set(lines) == expected
