"""Where things are in a project: the repository root and Conductor's files inside it.

Finding the root walks up to the nearest `.git` (a directory, or a file in a worktree) in
pure Python, so commands that only read files do not pay for pygit2.
"""

from __future__ import annotations

from pathlib import Path

from conductor.errors import NotARepositoryError

CONDUCTOR_DIR = ".conductor"
POLICY_FILE = ".conductor/policy.yaml"
IGNORE_FILE = ".conductor/.gitignore"
HANDOFF_DIR = ".conductor/handoff"


def find_root(start: Path | None = None) -> Path:
    """The top of the working tree that contains `start` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    raise NotARepositoryError(
        f"not a git repository (or any parent up to /): {here}",
        hint="run `conductor init NAME` to create a project, or `git init` first",
    )
