"""Where things are in a project: the repository root and Conductor's files inside it, and
Conductor's per-user files for it outside it (the fork worktrees).

Finding the root walks up to the nearest `.git` (a directory, or a file in a worktree) in
pure Python, so commands that only read files do not pay for pygit2.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from conductor.errors import ConductorError, NotARepositoryError

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


def state_home(environ: Mapping[str, str] | None = None) -> Path:
    """Conductor's per-user state directory: `$XDG_STATE_HOME/conductor`, by default
    `~/.local/state/conductor` (the XDG base directory specification)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "")
    if not base or not os.path.isabs(base):  # the specification: a relative value is ignored
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base) / "conductor"


def repository_key(repo_root: Path, git_dir: Path) -> str:
    """A directory name for one repository: its name and a digest of where its git directory is."""
    digest = hashlib.sha256(str(git_dir.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", repo_root.name).strip(".-") or "repo"
    return f"{name[:40]}-{digest}"


def _inside(path: Path, *places: Path) -> bool:
    resolved = path.resolve()
    return any(resolved == p.resolve() or resolved.is_relative_to(p.resolve()) for p in places)


def private_state(repo_root: Path, git_dir: Path, *, configured: str | None = None) -> Path:
    """Where Conductor keeps one repository's per-user working files (fork worktrees, sandbox
    scratch): `<state home>/<repository key>`, or `<configured>/<key>` (policy
    `workspace.worktrees`). Never inside the checkout or its git directory: a tool that walks up
    from a worktree (pytest, node, an editor, an agent) must not find the user's checkout. A
    default that would be inside (a repository holding the home directory) moves to the system's
    temporary directory; a configured one is an error."""
    key = repository_key(repo_root, git_dir)
    if configured:
        base = Path(os.path.expandvars(os.path.expanduser(configured)))
        base = base if base.is_absolute() else repo_root / base
        if _inside(base, repo_root, git_dir):
            raise ConductorError(
                f"workspace.worktrees: {configured} is inside the repository ({repo_root})",
                hint="worktrees live outside the repository: give a directory elsewhere, e.g."
                " ~/conductor-worktrees, or remove the setting (default: " + str(state_home()) + ")",
            )
        return base / key
    base = state_home()
    if _inside(base, repo_root, git_dir):
        base = Path(tempfile.gettempdir()) / f"conductor-{os.getuid()}"
    return base / key
