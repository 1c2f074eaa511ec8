"""Policy checks on a step's real diff (docs/protocol.md, checks 2 and 3). Pure: the runner collects
the changes, symlink targets and line counts; this decides what is wrong with them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pathspec

from conductor.engine.failures import FailureKind
from conductor.gitdiff import GITLINK, SYMLINK, Change
from conductor.models.paths import escape_reason
from conductor.policy.patterns import ProtectedPatterns

BINARY_BYTES_PER_LINE = 80
"""A binary file counts as one line per 80 bytes toward max_diff_lines."""


@dataclass(frozen=True)
class Violation:
    kind: FailureKind
    path: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "path": self.path, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


class AllowedFiles:
    """A step's allowed_files: gitignore-style patterns anchored at the repository root
    (`hello.py` allows only the root's hello.py; `src/**` everything under src/)."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        anchored = [p if p.startswith("/") or p.startswith("**") else "/" + p for p in self.patterns]
        self.spec = pathspec.GitIgnoreSpec.from_lines(anchored)

    def allows(self, path: str) -> bool:
        return bool(self.spec.match_file(path))


def check_paths(
    changes: Sequence[Change],
    *,
    allowed: AllowedFiles,
    protected: ProtectedPatterns,
    symlinks: Mapping[str, str],
    reported: Sequence[str] = (),
) -> list[Violation]:
    """Every path must stay inside the worktree, out of .git, inside allowed_files and out of
    every protected pattern; symlinks must point inside the worktree."""
    found: list[Violation] = []
    for path in reported:
        reason = escape_reason(path)
        if reason:
            found.append(Violation(FailureKind.CONSTRAINT, path, f"the result lists a path that {reason}"))
    for change in changes:
        for path in change.paths():
            parts = path.split("/")
            if ".git" in parts:
                found.append(Violation(FailureKind.CONSTRAINT, path, "writes under .git"))
                continue
            hit = protected.check(path)
            if hit is not None:
                side = ""
                if change.kind == "renamed":
                    side = " (renamed out of it)" if path == change.old_path else " (renamed into it)"
                found.append(
                    Violation(
                        FailureKind.PROTECTED,
                        path,
                        f"{change.kind}{side}: protected by '{hit.pattern}' ({hit.origin})",
                    )
                )
            elif not allowed.allows(path):
                found.append(
                    Violation(
                        FailureKind.CONSTRAINT,
                        path,
                        f"{change.kind}: not in allowed_files {allowed.patterns}",
                    )
                )
        if change.new_mode == GITLINK:
            found.append(Violation(FailureKind.CONSTRAINT, change.path, "adds a nested git repository"))
        if change.new_mode == SYMLINK:
            target = symlinks.get(change.path, "")
            problem = _symlink_problem(change.path, target)
            if problem:
                found.append(Violation(FailureKind.CONSTRAINT, change.path, problem))
    return found


def _symlink_problem(path: str, target: str) -> str | None:
    if not target:
        return "symlink whose target cannot be read"
    if target.startswith("/"):
        return f"symlink to an absolute path ({target}), outside the worktree"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        return f"symlink pointing outside the worktree ({target})"
    if resolved == ".git" or resolved.startswith(".git/"):
        return f"symlink into .git ({target})"
    return None


def changed_lines(
    changes: Sequence[Change], counts: Mapping[str, tuple[int, int] | None], sizes: Mapping[str, int]
) -> int:
    """Added + removed lines; a binary file counts one line per 80 bytes (at least one)."""
    total = 0
    for change in changes:
        if change.path not in counts:
            continue
        count = counts[change.path]
        if count is None:
            total += max(1, -(-sizes.get(change.path, 0) // BINARY_BYTES_PER_LINE))
        else:
            total += count[0] + count[1]
    return total


SIZE_HINT = (
    "split the file or the step; or, if the project needs files this big, raise {setting} in"
    " .conductor/policy.yaml (a plan or a step can only lower it)"
)


def shown_size(size: int) -> str:
    """`2147483648 bytes (2.0 GiB)`: exact, and readable."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size} bytes ({size / scale:.1f} {unit})"
    return f"{size} bytes"


def check_file_sizes(
    oversized: Mapping[str, int], *, max_file_bytes: int, unread_bytes: int, max_change_bytes: int
) -> list[Violation]:
    """Files over behavior.max_file_bytes, and a change over behavior.max_change_bytes: Conductor
    did not read them (the runner looked at their sizes only). Paths come shown (escaped)."""
    found = [
        Violation(
            FailureKind.DIFF_TOO_LARGE,
            path,
            f"{shown_size(size)}, over behavior.max_file_bytes {shown_size(max_file_bytes)}: not read",
        )
        for path, size in sorted(oversized.items())
    ]
    if unread_bytes:
        found.append(
            Violation(
                FailureKind.DIFF_TOO_LARGE,
                "(change)",
                f"the changed files hold {shown_size(unread_bytes)} together, over"
                f" behavior.max_change_bytes {shown_size(max_change_bytes)}: not read",
            )
        )
    return found


def size_hint(violations: Sequence[Violation]) -> str | None:
    """The advice for file_sizes' violations, naming the setting to raise."""
    settings = [
        name
        for name in ("behavior.max_file_bytes", "behavior.max_change_bytes")
        if any(name in v.detail for v in violations if v.kind is FailureKind.DIFF_TOO_LARGE)
    ]
    return SIZE_HINT.format(setting=" or ".join(settings)) if settings else None


def check_size(
    changes: Sequence[Change], *, lines: int, max_lines: int, max_files: int | None
) -> list[Violation]:
    found = []
    if lines > max_lines:
        found.append(
            Violation(
                FailureKind.DIFF_TOO_LARGE,
                "(diff)",
                f"{lines} changed lines (added + removed) exceed behavior.max_diff_lines {max_lines}",
            )
        )
    if max_files is not None and len(changes) > max_files:
        found.append(
            Violation(
                FailureKind.DIFF_TOO_LARGE,
                "(diff)",
                f"{len(changes)} changed files exceed behavior.max_files_changed {max_files}",
            )
        )
    return found
