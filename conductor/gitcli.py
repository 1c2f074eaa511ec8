"""Running the git CLI, for what users expect to behave exactly like git (init, hooks paths,
the index as a hook sees it). Everything else goes through conductor.ledger (pygit2)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from conductor.errors import ConductorError, NotARepositoryError


def git(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> bytes:
    """Run `git ARGS` and return stdout; a failure is a ConductorError quoting git."""
    full_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, env=full_env, check=False
        )
    except FileNotFoundError:
        raise ConductorError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        if "not a git repository" in err:
            raise NotARepositoryError(
                f"not a git repository: {Path(cwd or '.').resolve()}",
                hint="run `conductor init NAME` to create a project, or `git init` first",
            )
        raise ConductorError(f"`git {_command(args)}` failed: {err or f'exit {proc.returncode}'}")
    return proc.stdout


def _command(args: Sequence[str]) -> str:
    """The git command of `args` as users know it: options like `-c key=value` skipped."""
    start = 0
    while start + 1 < len(args) and args[start] in ("-c", "-C"):
        start += 2
    return " ".join(args[start : start + 2])


def git_text(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Like `git`, decoded and stripped."""
    return git(args, cwd=cwd, stdin=stdin, env=env).decode("utf-8", "surrogateescape").strip()
