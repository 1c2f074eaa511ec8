"""Bringing a commit into a local branch with the git CLI — fast-forward, merge or squash — as a
person would: in the checkout that has the branch, or in a scratch worktree when none has (the
branch then moves by compare-and-swap), with the repository's hooks on the new commit.

It knows nothing of plans; `adopt.py` says what to bring in and writes the commit message.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.ledger.store import Ledger
from conductor.runner.place.startpoint import uncommitted

STRATEGIES = ("ff", "merge", "squash")
COMMIT_HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg")  # those `git commit` runs that may refuse


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    trailers: list[tuple[str, str]] = field(default_factory=list)  # its Conductor-* trailers, in order


@dataclass(frozen=True)
class Merge:
    source: str  # the commit to bring in
    name: str  # what to call it in messages (a branch name)
    into: str  # the local branch it comes into
    previous: str  # that branch's tip, as read
    strategy: str  # ff, merge or squash
    scratch: Path  # where a scratch worktree may be made
    reflog: str  # the reflog message of a ref moved directly


def commits_between(root: Path, previous: str, tip: str) -> list[Commit]:
    """The commits `tip` adds to `previous`, oldest first, with their Conductor-* trailers."""
    out = git_text(
        ["log", "--reverse", "-z", "--format=%H%n%s%n%(trailers:only,unfold)", f"{previous}..{tip}"], cwd=root
    )
    commits = []
    for entry in filter(None, out.split("\0")):
        sha, subject, *rest = entry.strip("\n").split("\n")
        pairs = [line.split(": ", 1) for line in rest if line.startswith("Conductor-") and ": " in line]
        commits.append(Commit(sha, subject, [(key, value) for key, value in pairs]))
    return commits


def bring_in(root: Path, ledger: Ledger, merge: Merge, message: Callable[[list[Commit]], str]) -> str:
    """Do `merge`; returns the branch's new tip. `message` writes a merge or squash commit's
    message from the commits brought in."""
    checkout = checkout_of(root, merge.into)
    ref = f"refs/heads/{merge.into}"
    if checkout is None and merge.strategy == "ff":
        if not ledger.is_ancestor(merge.previous, merge.source):
            raise not_fast_forward(merge)
        git(["update-ref", "-m", merge.reflog, ref, merge.source, merge.previous], cwd=root)
        return merge.source
    if checkout is not None:
        require_clean(checkout, merge, changed=changed_paths(root, merge.previous, merge.source))
    with workplace(root, merge, checkout) as where:
        commit = apply(where, merge, message, identity=ledger.committer().git_env())
    if checkout is None:
        git(["update-ref", "-m", merge.reflog, ref, commit, merge.previous], cwd=root)
    return commit


def apply(
    where: Path, merge: Merge, message: Callable[[list[Commit]], str], *, identity: dict[str, str]
) -> str:
    """Bring `merge` in at `where`; a new commit is made with `identity` (Identity.git_env:
    nothing when git has the user's identity, Conductor's when it has none)."""
    if merge.strategy == "ff":
        try:
            git(["merge", "--ff-only", "--quiet", merge.source], cwd=where)
        except ConductorError:
            raise not_fast_forward(merge) from None
        return git_text(["rev-parse", "HEAD"], cwd=where)
    start = ["merge", "--squash"] if merge.strategy == "squash" else ["merge", "--no-ff", "--no-commit"]
    try:
        git([*start, "--quiet", merge.source], cwd=where, env=identity)
    except ConductorError as exc:
        git(["reset", "--quiet", "--merge"], cwd=where)
        raise ConductorError(
            f"{merge.name} does not merge cleanly into {merge.into}: {exc.message}",
            hint=f"merge it yourself (`git merge {merge.name}`) and resolve the conflicts",
        ) from None
    text = message(commits_between(where, merge.previous, merge.source))
    try:
        # As the person's own commit would be: their identity, their hooks (the guard), no --no-verify.
        git(
            ["commit", "--quiet", "--file", "-"],
            cwd=where,
            stdin=text.encode(),
            env=identity,
            as_configured=True,
        )
    except ConductorError as exc:
        git(["reset", "--quiet", "--merge"], cwd=where)
        raise commit_failed(where, merge, exc.message.partition(" failed: ")[2] or exc.message) from None
    return git_text(["rev-parse", "HEAD"], cwd=where)


def commit_failed(where: Path, merge: Merge, said: str) -> ConductorError:
    """Why the merge or squash commit was not made: a hook's refusal only when a commit hook is
    installed and git itself did not stop it (git's own errors end with a `fatal:` line)."""
    hooks = commit_hooks(where)
    last = said.strip().splitlines()[-1] if said.strip() else ""
    if hooks and not last.startswith("fatal: "):
        return ConductorError(
            f"the {merge.strategy} commit into {merge.into} was refused by a hook"
            f" ({', '.join(hooks)}):\n{said}",
            hint=f"{merge.into} is unchanged; fix the change, or commit it yourself if you mean to",
        )
    return ConductorError(
        f"git could not make the {merge.strategy} commit into {merge.into}:\n{said}",
        hint=f"{merge.into} is unchanged; fix what git says, then run `conductor adopt` again",
    )


def commit_hooks(where: Path) -> list[str]:
    """The hooks that may refuse a commit at `where` and would run (present and executable)."""
    hooks = Path(
        git_text(
            ["rev-parse", "--path-format=absolute", "--git-path", "hooks"], cwd=where, as_configured=True
        )
    )
    return [name for name in COMMIT_HOOKS if os.access(hooks / name, os.X_OK) and (hooks / name).is_file()]


def not_fast_forward(merge: Merge) -> ConductorError:
    return ConductorError(
        f"{merge.into} has commits that {merge.name} does not have: it cannot be fast-forwarded",
        hint="use --merge (a merge commit) or --squash (one commit)",
    )


def checkout_of(root: Path, branch: str) -> Path | None:
    """The worktree (the user's checkout or another) that has `branch` checked out, if any."""
    out = git_text(["worktree", "list", "--porcelain"], cwd=root)
    for block in out.split("\n\n"):
        lines = block.splitlines()
        if f"branch refs/heads/{branch}" in lines and lines[0].startswith("worktree "):
            return Path(lines[0].removeprefix("worktree "))
    return None


def changed_paths(root: Path, previous: str, tip: str) -> set[str]:
    out = git(["diff", "--name-only", "-z", "--no-renames", previous, tip], cwd=root)
    return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}


def require_clean(checkout: Path, merge: Merge, *, changed: set[str]) -> None:
    """Refuse when the checkout has changes the merge would touch, or (for a new commit)
    staged changes it would sweep into that commit."""
    staged = git_text(["diff", "--cached", "--name-only"], cwd=checkout).splitlines()
    if staged and merge.strategy != "ff":
        raise ConductorError(
            f"the checkout of {merge.into} ({checkout}) has staged changes: {', '.join(staged[:5])}",
            hint="commit or unstage them first (they would go into the new commit)",
        )
    touched = sorted(changed & set(uncommitted(checkout)))
    if touched:
        raise ConductorError(
            f"the checkout of {merge.into} ({checkout}) has uncommitted changes to files"
            f" {merge.name} changes: {', '.join(touched[:5])}",
            hint="commit or stash them first, or bring it into a branch that is not checked out (--into)",
        )


@contextmanager
def workplace(root: Path, merge: Merge, checkout: Path | None) -> Iterator[Path]:
    """The checkout that has the branch, or a scratch worktree at its tip (removed after)."""
    if checkout is not None:
        yield checkout
        return
    path = merge.scratch
    if path.exists():  # left by a crash
        shutil.rmtree(path)
        git(["worktree", "prune"], cwd=root)
    path.parent.mkdir(parents=True, exist_ok=True)
    git(["worktree", "add", "--quiet", "--detach", str(path), merge.previous], cwd=root)
    try:
        yield path
    finally:
        git(["worktree", "remove", "--force", str(path)], cwd=root)
