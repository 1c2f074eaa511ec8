"""A patch between two blobs in pure Python, shaped as libgit2's `Patch.create_from` shapes it.

For the in-memory Repo (conductor.ledger.memrepo): the headers, hunks (three lines of context,
hunks that close merged, the line above each as its context), line counts and binary
detection (a NUL in the first 8000 bytes) are libgit2's; the lines are paired by difflib,
which pairs them as git does for ordinary edits but may pair an ambiguous edit (moved blocks,
many equal lines) otherwise.
"""

from __future__ import annotations

import difflib

BINARY_PROBE = 8000
CONTEXT = 3
NO_NEWLINE = b"\\ No newline at end of file\n"
FUNCTION_MAX = 80


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_PROBE]


class TextPatch:
    """The difference between two blobs (None: missing), each given as (id, data)."""

    def __init__(
        self, old: tuple[str, bytes] | None, new: tuple[str, bytes] | None, old_path: str, new_path: str
    ) -> None:
        self._old, self._new = old, new
        self._paths = (old_path, new_path)
        old_data, new_data = old[1] if old else b"", new[1] if new else b""
        self.binary = is_binary(old_data) or is_binary(new_data)
        self.size = max(len(old_data), len(new_data))
        self._hunks: list[bytes] = []
        self.line_stats = (0, 0, 0)
        if not self.binary and _id(old) != _id(new):
            self._diff(old_data.splitlines(keepends=True), new_data.splitlines(keepends=True))

    def _diff(self, a: list[bytes], b: list[bytes]) -> None:
        context = added = deleted = 0
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for group in matcher.get_grouped_opcodes(CONTEXT):
            first, last = group[0], group[-1]
            lines = [_header(first[1], last[2], first[3], last[4]) + _context(a, first[1]) + b"\n"]
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    context += i2 - i1
                    lines += [_line(b" ", line) for line in a[i1:i2]]
                    continue
                deleted += i2 - i1
                added += j2 - j1
                lines += [_line(b"-", line) for line in a[i1:i2]]
                lines += [_line(b"+", line) for line in b[j1:j2]]
            self._hunks.append(b"".join(lines))
        self.line_stats = (context, added, deleted)

    @property
    def data(self) -> bytes:
        old, new = self._old, self._new
        if _id(old) == _id(new):
            return b""
        old_path, new_path = self._paths
        head = [f"diff --git a/{old_path} b/{new_path}\n"]
        if old is None:
            head.append("new file mode 100644\n")
        elif new is None:
            head.append("deleted file mode 100644\n")
        short = (old[0][:7] if old else "0" * 7, new[0][:7] if new else "0" * 7)
        head.append(f"index {short[0]}..{short[1]}{' 100644' if old and new else ''}\n")
        a_side = f"a/{old_path}" if old else "/dev/null"
        b_side = f"b/{new_path}" if new else "/dev/null"
        if self.binary:
            head.append(f"Binary files {a_side} and {b_side} differ\n")
            return "".join(head).encode()
        head.append(f"--- {a_side}\n+++ {b_side}\n")
        return "".join(head).encode() + b"".join(self._hunks)


def _id(side: tuple[str, bytes] | None) -> str | None:
    return side[0] if side is not None else None


def _header(i1: int, i2: int, j1: int, j2: int) -> bytes:
    return f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@".encode()


def _context(lines: list[bytes], start: int) -> bytes:
    """What git shows after a hunk's header: the nearest line above the hunk that starts with a
    letter, `_` or `$` (its first 80 bytes, trailing space trimmed), after a space."""
    for line in reversed(lines[:start]):
        if line[:1].isalpha() or line[:1] in (b"_", b"$"):
            return b" " + line.rstrip()[:FUNCTION_MAX]
    return b""


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def _line(sign: bytes, line: bytes) -> bytes:
    return sign + line if line.endswith(b"\n") else sign + line + b"\n" + NO_NEWLINE
