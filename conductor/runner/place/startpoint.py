"""Where a new plan starts: the commit `--base REF` names, else HEAD; and, starting from HEAD,
what of the user's checkout the plan will not see (changes not committed)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from conductor.checks.diff import AllowedFiles
from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.project import CONDUCTOR_DIR
from conductor.runner.place.worktree import require_commit


def base_commit(root: Path, ref: str | None) -> str:
    """The full id of the commit `ref` names (a branch, tag, sha, `HEAD~1`), or of HEAD."""
    if ref is None:
        return require_commit(root)
    try:
        return git_text(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd=root
        )
    except ConductorError:
        raise ConductorError(
            f"--base {ref}: no such commit in this repository",
            hint="give a branch, a tag or a commit: --base main, --base v1.2, --base HEAD~1",
        ) from None


def uncommitted(root: Path, where: Sequence[str] = ()) -> list[str]:
    """The paths `git status` shows as changed, staged or new (not ignored) in the checkout —
    under the folders `where` names only, when it names any.

    `.conductor/` is left out: Conductor writes its mailbox there, and reads the policy and
    config there from the checkout itself, so a plan does see them."""
    out = git(
        ["status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--", *where], cwd=root
    )
    paths = [entry[3:] for entry in out.decode("utf-8", "replace").split("\0") if entry]
    return [path for path in paths if not path.startswith(f"{CONDUCTOR_DIR}/")]


GLOB = re.compile(r"[*?\[\\]")


def folders(patterns: Sequence[str]) -> list[str] | None:
    """Where in the checkout files that allowed_files patterns allow can be (anchored at the root,
    docs/lifecycle.md: a pattern's literal part before its first wildcard), as pathspecs; None:
    anywhere (`**/…`, or a wildcard in the first name)."""
    out: list[str] = []
    for pattern in patterns:
        body = pattern.lstrip("/").rstrip("/")
        found = GLOB.search(body)
        place = body if found is None else body[: found.start()].rpartition("/")[0]
        if not place:
            return None
        out.append(f":(literal){place}")
    return out


def unseen_note(root: Path, base: str, allowed: Sequence[str] | None = None) -> str | None:
    """One line for a plan that starts from HEAD while the checkout has changes to files its
    steps may change (`allowed`: their allowed_files patterns; None: any file), else None.

    Only where those files can be is looked at: in a big repository a whole-tree `git status`
    costs more than all the rest of a small plan's launch."""
    where = folders(allowed) if allowed is not None else None
    changed = uncommitted(root, where or ())
    if allowed is not None:
        changed = [path for path in changed if AllowedFiles(allowed).allows(path)]
    if not changed:
        return None
    files = "1 file" if len(changed) == 1 else f"{len(changed)} files"
    return (
        f"note: your checkout has uncommitted changes ({files}); the plan starts from HEAD"
        f" {base[:12]} and does not see them — commit them or use --base"
    )


def start_branch(root: Path, ref: str | None) -> str | None:
    """The branch a new plan starts from, for `conductor adopt`: the local branch `--base`
    names, else the branch checked out; None for a tag, a commit or a detached HEAD."""
    if ref is None:
        try:
            return git_text(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=root) or None
        except ConductorError:
            return None
    try:
        git(["show-ref", "--verify", "--quiet", f"refs/heads/{ref}"], cwd=root)
    except ConductorError:
        return None
    return ref
