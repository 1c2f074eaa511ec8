"""What a command returns: one object that says the same facts as text and as JSON.

Every `conductor.commands.X.run(...)` returns a `Report`; the CLI prints `render()` — or
`to_json()` with `--json` — and exits with `exit_code`. Reports that could be long (the event
log) stream themselves by overriding `show`. Whatever a report prints passes a
`terminal.Screen`: agent text reaches the terminal as text, never as control (`emit` is final).
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any, TextIO, final

from conductor.terminal import UNSAFE, Screen, clean, json_escape


def json_text(data: Any) -> str:
    """JSON as Conductor prints it: indented, UTF-8 as is (but the characters a terminal acts
    on, escaped: terminal.json_escape), anything else as its str()."""
    return json_escape(json.dumps(data, indent=2, ensure_ascii=False, default=str))


class Report:
    """Base of every command's result. Subclasses define `to_json` and `render`."""

    @property
    def exit_code(self) -> int:
        """0 when the command did what was asked; 1 when the outcome is a failure."""
        return 0

    def to_json(self) -> Any:
        raise NotImplementedError

    def render(self) -> str:
        raise NotImplementedError

    @final
    def emit(self, out: TextIO, *, as_json: bool) -> None:
        """Print the report on `out`, through a Screen: the one way a report reaches a terminal."""
        self.show(Screen(out), as_json=as_json)

    def show(self, screen: Screen, *, as_json: bool) -> None:
        """Write the report (JSON with `as_json`); override to stream it."""
        text = json_text(self.to_json()) if as_json else self.render()
        if text:
            screen.write(text + "\n")
            screen.flush()


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 line`, `2 lines` (`many`: the plural when it is not `word` + s)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def json_line(data: Any) -> str:
    """One JSON object on one line (JSON Lines)."""
    return json_escape(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str))


def display_width(text: str) -> int:
    """The columns `text` takes on a terminal: wide and full-width characters (CJK, most
    emoji) two, combining marks none, the rest one; a character shown as its escape
    (terminal.clean), as wide as the escape."""
    if UNSAFE.search(text):
        text = clean(text)
    if text.isascii():  # most cells: one column a character
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )


def table(rows: list[list[str]], *, indent: str = "") -> str:
    """Left-aligned columns, two spaces apart, measured as a terminal shows them (cheap: no
    rich import on fast paths)."""
    if not rows:
        return ""
    widths = [max(display_width(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    lines = []
    for row in rows:
        cells = [
            cell + " " * (widths[i] - display_width(cell)) if i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        lines.append(indent + "  ".join(cells).rstrip())
    return "\n".join(lines)
