"""Before a plan starts: will the executor's command be able to start where it runs? It runs in
the fork's worktree (what is committed at the plan's base, nothing else of the checkout) and,
under the sandbox, sees nothing of the checkout but what is exposed. A program that is not
there, a script that is not committed, a script the sandbox hides: each is said now, with the
fix, instead of failing every attempt of the plan.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git

INTERPRETERS = ("python", "node", "bash", "sh", "zsh", "dash", "ruby", "perl", "php", "bun", "deno", "tsx")
NO_SCRIPT = {"-c", "-m", "-e", "--eval", "-p", "--print"}  # the code is given, not a file
SHELL_SYNTAX = set("$`|;&<>(){}*?[")


class CannotStart(ConductorError):
    """The executor's command cannot start where it will run."""


@dataclass(frozen=True)
class Where:
    """Where the command will run: the repository, the commit the worktree is made from, and
    what the sandbox shows."""

    root: Path  # the user's checkout
    base: str | None  # the commit the fork's worktree starts from (None: not known yet, a worker's)
    isolated: bool  # under the sandbox (which hides the checkout)
    exposed: Sequence[Path] = ()  # shown read-only all the same
    path: str | None = None  # PATH the command gets (default: this process's)
    setup: bool = False  # workspace.setup runs first, and may install the program


def check_command(command: str, where: Where, *, install: str = "") -> None:
    """Raise CannotStart when `command` could not start where it will run; `install` says how to
    install its program (an agent profile's)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CannotStart(f"cannot read the command `{command}`: {exc}") from None
    command = command if len(command) <= 80 else command[:77] + "..."  # as messages name it
    words = _program_words(words)
    if not words or SHELL_SYNTAX & set(words[0]):
        return  # a shell construct, or a program named by a variable: only running it tells
    program, rest = words[0], words[1:]
    found = _file(program, where, command, executable=True, install=install)
    name = Path(program).name
    if found is not None and name.rstrip("0123456789.") in INTERPRETERS:
        script = _script(rest)
        if script is not None:
            _file(script, where, command, executable=False)


def _program_words(words: list[str]) -> list[str]:
    """The words from the program on: `VAR=value` assignments and `env`/`exec` before it go."""
    while words and ("=" in words[0] and not words[0].startswith("=") and "/" not in words[0].split("=")[0]):
        words = words[1:]
    if words and words[0] in ("env", "exec", "command"):
        return _program_words([w for w in words[1:] if not w.startswith("-")])
    return words


def _script(arguments: list[str]) -> str | None:
    """The script an interpreter would run: its first argument that is not an option."""
    for word in arguments:
        if word in NO_SCRIPT or word == "-":
            return None
        if not word.startswith("-"):
            return word if (SHELL_SYNTAX & set(word)) == set() else None
    return None


def _file(name: str, where: Where, command: str, *, executable: bool, install: str = "") -> Path | None:
    """Check one program or script; its path when it is a file of the machine, else None."""
    if "/" not in name:
        if not executable:  # a script named without a directory: in the worktree
            _in_worktree(name, where, command, executable=False)
            return None
        found = shutil.which(name, path=where.path if where.path is not None else os.environ.get("PATH"))
        if found is None and where.setup:
            return None  # the workspace's setup may install it: only running it tells
        if found is None:
            raise CannotStart(
                f"`{name}` is not installed here (not on PATH): `{command}` cannot start",
                hint=install or f"install {name}, or give the program's absolute path",
            )
        return _visible(Path(found), where, command, name)
    path = Path(name)
    if not path.is_absolute():
        _in_worktree(name, where, command, executable=executable)
        return None
    if not path.exists():
        raise CannotStart(f"`{name}` does not exist: `{command}` cannot start")
    if executable and not os.access(path, os.X_OK):
        raise CannotStart(f"`{name}` is not executable: `{command}` cannot start", hint=f"chmod +x {name}")
    return _visible(path, where, command, name)


def _visible(path: Path, where: Where, command: str, name: str) -> Path:
    """`path`, unless the sandbox hides it (it is in the checkout, and not exposed)."""
    resolved, root = path.resolve(), where.root.resolve()
    if not where.isolated or not resolved.is_relative_to(root):
        return path
    if any(resolved.is_relative_to(p.resolve()) for p in where.exposed):
        return path
    relative = resolved.relative_to(root).as_posix()
    raise CannotStart(
        f"`{name}` is in your checkout ({relative}), which the sandbox hides from the command:"
        f" `{command}` cannot start",
        hint=f"commit it and run it from the worktree (./{relative}), keep it outside the repository,"
        f" or let the sandbox show it read-only: sandbox: {{expose: [{relative}]}} in"
        " .conductor/policy.yaml",
    )


def _in_worktree(name: str, where: Where, command: str, *, executable: bool) -> None:
    """A relative path runs from the worktree: it must be committed at the plan's base."""
    relative = os.path.normpath(name)
    if where.base is None:
        return None
    if relative.startswith(".."):
        raise CannotStart(
            f"`{name}` points outside the worktree the command runs in: `{command}` cannot start",
            hint="give the absolute path of a file outside the repository",
        )
    listed = git(["ls-tree", "-z", where.base, "--", relative], cwd=where.root).decode("utf-8", "replace")
    mode = listed.split(" ", 1)[0] if listed else ""
    if not mode:
        in_checkout = (where.root / relative).exists()
        what = "is in your checkout but not committed" if in_checkout else "is not in the repository"
        raise CannotStart(
            f"`{name}` {what}: `{command}` runs in the fork's worktree, which holds what is committed"
            f" at {where.base[:12]} and nothing else",
            hint=f"commit it (git add {relative} && git commit) before the plan starts, or keep it"
            " outside the repository and give its absolute path",
        )
    if executable and mode != "100755":
        raise CannotStart(
            f"`{name}` is committed without the executable bit: `{command}` cannot start",
            hint=f"git update-index --chmod=+x {relative} && git commit, or run it with its interpreter"
            f" (sh {name})",
        )
