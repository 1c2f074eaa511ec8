"""Live progress for forks running side by side: a rich table on a terminal, plain lines
otherwise (pipes, CI logs, --json runs). rich is imported only when a terminal shows it.
A progress line can quote an agent or a worker (a summary, a file name, a worker's name): each
is cleaned (conductor.terminal) and given to rich as Text, never as markup."""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import TYPE_CHECKING

from conductor.terminal import clean, styled

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

_PREFIX = re.compile(r"^\[(?P<plan>[^/\]]+)(?:/(?P<fork>[^\]]+))?\] (?P<text>.*)$")


_WRITING = threading.Lock()  # one line at a time, whichever thread (fork) says it


def say(text: str) -> None:
    """One line of progress on stderr (stdout carries the result): written whole, in one
    write under a lock, so lines from forks running side by side never run together."""
    with _WRITING:
        sys.stderr.write(clean(text, marked=styled(sys.stderr)) + "\n")
        sys.stderr.flush()


class Board:
    """Receives `say()` lines from every fork and shows the latest per fork."""

    def __init__(self, *, live: bool | None = None) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self._rows: dict[str, tuple[str, float]] = {}
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()
        self._display: Live | None = None

    def __enter__(self) -> Board:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._display = Live(
                self._render(), console=Console(stderr=True), refresh_per_second=4, transient=False
            )
            self._display.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._display is not None:
            self._display.update(self._render())
            self._display.__exit__(None, None, None)
            self._display = None

    def say(self, line: str) -> None:
        match = _PREFIX.match(line)
        fork = (match.group("fork") or "(plan)") if match else "(plan)"
        text = match.group("text") if match else line
        with self._lock:
            self._started.setdefault(fork, time.monotonic())
            self._rows[fork] = (text, time.monotonic())
            if self._display is not None:
                self._display.update(self._render())
                return
        say(line)

    def _render(self) -> Table:
        from rich.table import Table
        from rich.text import Text  # a cell as text: "[bold red]" in a line is not markup

        table = Table(title="forks", expand=False)
        table.add_column("fork", style="bold")
        table.add_column("elapsed", justify="right")
        table.add_column("latest")
        now = time.monotonic()
        for fork, (text, _) in sorted(self._rows.items()):
            table.add_row(Text(clean(fork)), f"{now - self._started[fork]:.0f}s", Text(clean(text)[:100]))
        return table
