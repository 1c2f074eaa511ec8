"""The live progress board: the latest line per fork, on a terminal and off it."""

from __future__ import annotations

import io

from rich.console import Console

from conductor.progress import Board


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
