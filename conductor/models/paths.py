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


def _check(path: str) -> str:
    reason = escape_reason(path)
    if reason:
        raise ValueError(f"'{path}' {reason}")
    return path


RepoPath = Annotated[str, AfterValidator(_check)]
"""A path or glob pattern relative to the repository root that cannot leave it."""
