"""What reaches a terminal is text, never control: the one sanitizer at the rendering boundary.

An agent or a worker writes much of what Conductor shows (explanations, what its process
printed, verify output, summaries, file names, a worker's name). `clean` shows every character
a terminal would act on instead of show as its escape (`\\x1b`, `\\r`, `\\u202e`), so none can
move the cursor, clear the screen, set the title, write the clipboard (OSC 52), make a link
(OSC 8) or reorder what a reader sees (bidi overrides, "Trojan Source"). Every report
(`report.Report.emit`), progress line (`progress`) and error (`boundary`) passes it; `json_escape`
does the same for JSON, which stays data: `json.loads` gives back the very same strings.
Conductor's own styling is added after cleaning (`Screen.paint`), so it is the only styling.
"""

from __future__ import annotations

import os
import re
from typing import TextIO

# What a terminal or the bidi algorithm acts on rather than shows:
# - C0 controls but tab and newline: ESC (\x1b) begins every CSI, OSC, DCS, APC, PM and SOS
#   sequence, BEL (\x07) ends an OSC, \r returns to the start of the line to overwrite it,
#   \b backs over what was shown;
# - DEL, and the C1 controls U+0080–U+009F: terminals that take 8-bit controls read U+009B as
#   CSI, U+009D as OSC, U+0090 as DCS, U+009C as the string terminator;
# - the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make
#   text read in another order than it is;
# - lone surrogates: bytes that were not UTF-8 (decoded with surrogateescape), which no UTF-8
#   stream can write at all.
# With its introducer shown as text, no sequence can begin: what follows (`]52;c;…`) is text.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

MARK_ON, MARK_OFF = "\x1b[7m", "\x1b[27m"  # reverse video, as `less` shows a control character
STYLES = {  # Conductor's own, the only escape codes it writes: (on, off) SGR parameters
    "bold": ("1", "22"),
    "red": ("31", "39"),
    "green": ("32", "39"),
    "cyan": ("36", "39"),
}


def visible(char: str) -> str:
    """The escape a character is shown as: `\\r`, `\\x1b`, `\\x9b`, `\\u202e`, `\\udc80`."""
    if char == "\r":
        return "\\r"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, *, marked: bool = False) -> str:
    """`text` as a terminal may show it: every unsafe character replaced by its escape (in
    reverse video when `marked`, so it does not pass for text the agent wrote); text without
    one comes back as it is."""
    if UNSAFE.search(text) is None:  # nearly always: one scan, no copy
        return text
    if marked:
        return UNSAFE.sub(lambda m: f"{MARK_ON}{visible(m.group())}{MARK_OFF}", text)
    return UNSAFE.sub(lambda m: visible(m.group()), text)


def json_escape(text: str) -> str:
    """JSON text (from `json.dumps`) with every unsafe character it holds raw escaped as
    `\\uXXXX`. `json.dumps` escapes C0 controls but, with `ensure_ascii=False`, writes DEL, C1,
    bidi controls and lone surrogates as they are. They can only be inside strings, where
    `\\uXXXX` means the same character: the JSON decodes to the same values."""
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def styled(stream: TextIO) -> bool:
    """Whether `stream` is a terminal that takes styling (NO_COLOR, no-color.org, says not)."""
    try:
        return stream.isatty() and "NO_COLOR" not in os.environ
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class Screen:
    """A stream that shows text: whatever is written is cleaned on the way (`marked` on a
    terminal); `paint` adds one of Conductor's own styles around cleaned text."""

    def __init__(self, stream: TextIO, *, marked: bool | None = None) -> None:
        self.stream = stream
        self.marked = styled(stream) if marked is None else marked

    def write(self, text: str) -> int:
        return self.stream.write(clean(text, marked=self.marked))

    def paint(self, text: str, style: str) -> int:
        """`text`, cleaned, in `style` (a key of STYLES): the caller decided to colour."""
        on, off = STYLES[style]
        return self.stream.write(f"\x1b[{on}m{clean(text, marked=self.marked)}\x1b[{off}m")

    def flush(self) -> None:
        self.stream.flush()
