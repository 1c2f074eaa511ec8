"""Running the git CLI, for what users expect to behave exactly like git (init, hooks paths,
the index as a hook sees it). Everything else goes through conductor.ledger (pygit2).

Conductor's own git commands run no repository hooks and no fsmonitor: what a step may have
planted in `.git` never runs through Conductor (docs/security.md)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from conductor.errors import ConductorError, NotARepositoryError

HARDENED = {"core.fsmonitor": "false", "core.hooksPath": os.devnull}
OVERRIDE_VARIABLE = "CONDUCTOR_OVERRIDE"
"""A person's reason to commit protected files (docs/policy.md); never handed to anything Conductor runs."""


def hardened(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a git command Conductor runs: `env` over os.environ, plus settings
    (GIT_CONFIG_COUNT, after any the user has) that keep hooks and fsmonitor from running."""
    out = {**os.environ, **(env or {})}
    try:
        count = int(out.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for key, value in HARDENED.items():
        out[f"GIT_CONFIG_KEY_{count}"] = key
        out[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out


def git(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    as_configured: bool = False,
) -> bytes:
    """Run `git ARGS` and return stdout; a failure is a ConductorError quoting git. Hooks and
    fsmonitor are off unless `as_configured` (to read where the repository keeps its hooks)."""
    full_env = {**os.environ, **(env or {})} if as_configured else hardened(env)
    full_env.pop(OVERRIDE_VARIABLE, None)  # Conductor's own commits (adopt) never carry it
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
    as_configured: bool = False,
) -> str:
    """Like `git`, decoded and stripped."""
    out = git(args, cwd=cwd, stdin=stdin, env=env, as_configured=as_configured)
    return out.decode("utf-8", "surrogateescape").strip()
