"""Repository-relative paths and patterns, refused when they could escape the repository."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_DRIVE = re.compile(r"^[A-Za-z]:")


def escape_reason(path: str) -> str | None:
    """Why `path` is not a safe repository-relative path, or None if it is."""
    if not path or not path.strip():
        return "is empty"
    if "\x00" in path:
        return "contains a NUL byte"
    if path.startswith(("/", "\\", "~")) or _DRIVE.match(path):
        return "is absolute; use a path relative to the repository root"
    parts = re.split(r"[/\\]+", path)
    if ".." in parts:
        return "contains '..'; paths must stay inside the repository"
    if parts[0] == ".git" or ".git" in parts[:-1] or parts[-1] == ".git":
        return "points into .git"
    return None


def unstorable_reason(path: str) -> str | None:
    """Why git and the ledger cannot store `path` as it is named (not UTF-8, a control
    character), or None. `path` is as read from disk: undecodable bytes as surrogates."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "contains a control character (a newline, a tab…)"
    return None


def printable(path: str) -> str:
    """A path as it can be shown and recorded: odd bytes and control characters escaped."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _check(path: str) -> str:
    reason = escape_reason(path)
    if reason:
        raise ValueError(f"'{path}' {reason}")
    return path


RepoPath = Annotated[str, AfterValidator(_check)]
"""A path or glob pattern relative to the repository root that cannot leave it."""
