"""Who Conductor commits as: one rule for every commit it makes, through pygit2 or the git CLI.

The user's identity, as git would find it: GIT_COMMITTER_* (then GIT_AUTHOR_*) from the
environment, else user.name and user.email from git config, read by the git CLI so every place
git reads config from counts. What is missing is Conductor's own (`Conductor
<conductor@localhost>`), said once on stderr with how to set one (`fallback_note`).

Every commit goes through `who_commits`: the ledger's own commits (pygit2) sign with
`Identity.pair`, and a git command that commits (`git commit`, `git commit-tree`) runs with
`Identity.git_env()`: GIT_AUTHOR_*/GIT_COMMITTER_* when git config lacks an identity, nothing
when it has one (git then applies the user's config as it would to their own commits).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

FALLBACK_NAME = "Conductor"
FALLBACK_EMAIL = "conductor@localhost"
SET_IDENTITY = 'git config --global user.name "Your Name" && git config --global user.email you@example.com'
KEYS = ("user.name", "user.email")

_noting = threading.Lock()
_noted = threading.Event()  # the note is said once per process


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    missing: tuple[str, ...] = ()  # what neither the environment nor git config has (KEYS)
    configured: bool = True  # git config has both user.name and user.email

    @property
    def pair(self) -> tuple[str, str]:
        return (self.name, self.email)

    def git_env(self) -> dict[str, str]:
        """The environment a git command that commits needs to commit as this identity: for
        each GIT_AUTHOR_*/GIT_COMMITTER_* variable not set, this identity's value, when git
        config lacks one (git would stop with "Author identity unknown", or guess one from the
        host); nothing when it has one."""
        if self.configured:
            return {}
        wanted = {"NAME": self.name, "EMAIL": self.email}
        return {
            f"GIT_{who}_{field}": value
            for who in ("AUTHOR", "COMMITTER")
            for field, value in wanted.items()
            if not os.environ.get(f"GIT_{who}_{field}")
        }


def who_commits(where: Path) -> Identity:
    """The identity every commit in the repository at `where` (a work tree or a git directory)
    is made with, said on stderr (once) when it is, in part, Conductor's."""
    config = _configured(where)
    name = _env("NAME") or config.get("user.name")
    email = _env("EMAIL") or config.get("user.email")
    missing = tuple(key for key, value in zip(KEYS, (name, email), strict=True) if not value)
    found = Identity(
        name or FALLBACK_NAME,
        email or FALLBACK_EMAIL,
        missing=missing,
        configured=all(config.get(key) for key in KEYS),
    )
    if missing:
        fallback_note(found.name, found.email, list(missing))
    return found


def fallback_note(name: str, email: str, missing: list[str]) -> None:
    """Say on stderr, once per process, that git has no identity (or half of one) and whom
    Conductor commits as instead, with how to set one: never silently, never on stdout."""
    with _noting:
        if _noted.is_set():
            return
        _noted.set()
    what = "user identity" if len(missing) > 1 else missing[0]
    sys.stderr.write(
        f"note: git has no {what}; committing as {name} <{email}>; set yours with: {SET_IDENTITY}\n"
    )
    sys.stderr.flush()


def _env(field: str) -> str | None:
    return os.environ.get(f"GIT_COMMITTER_{field}") or os.environ.get(f"GIT_AUTHOR_{field}") or None


def _configured(where: Path) -> dict[str, str]:
    """user.name and user.email as `git config` reads them in `where` (the last value wins);
    nothing for a key git config does not have."""
    place = ["--git-dir", str(where)] if _is_git_dir(where) else ["-C", str(where)]
    try:
        proc = subprocess.run(
            ["git", *place, "config", "-z", "--get-regexp", r"^user\.(name|email)$"],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    for entry in proc.stdout.decode("utf-8", "replace").split("\0"):
        key, _, value = entry.partition("\n")
        if key in KEYS and value.strip():
            found[key] = value
    return found


def _is_git_dir(where: Path) -> bool:
    return (where / "HEAD").is_file() and (where / "objects").is_dir()
