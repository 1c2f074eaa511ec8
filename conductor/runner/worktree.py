"""The git worktree of a fork: where executors edit, checked out on the fork's branch.

Worktrees live in `<git dir>/conductor/worktrees/<plan>/<fork>`: inside the repository's
git directory, so `git status`, editors, pytest and ruff run from the repository root never
see them, and the user's own checkout is never touched. Operations use the git CLI, which
handles checkouts, .gitignore and the index exactly as users expect.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.runner import workspace

_CREATING = threading.Lock()


class Worktree:
    def __init__(self, path: Path, *, repo_root: Path) -> None:
        self.path = path
        self.repo_root = repo_root

    @classmethod
    def location(cls, git_common_dir: Path, plan: str, fork: str) -> Path:
        return git_common_dir / "conductor" / "worktrees" / plan / fork

    def exists(self) -> bool:
        return (self.path / ".git").is_file()

    def create(self, branch: str) -> None:
        """Check out `branch` (which must exist) here, unless that is already done."""
        with _CREATING:  # `git worktree add` run in parallel contends for the same locks
            self._create(branch)

    def _create(self, branch: str) -> None:
        if self.exists():
            return
        if self.path.exists():  # a half-made worktree from a crash: start again
            shutil.rmtree(self.path)
            git(["worktree", "prune"], cwd=self.repo_root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The short name checks the branch out; a full refs/heads/… name would detach HEAD.
        git(
            ["worktree", "add", "--quiet", str(self.path), branch.removeprefix("refs/heads/")],
            cwd=self.repo_root,
        )

    def remove(self) -> None:
        if self.exists():
            git(["worktree", "remove", "--force", str(self.path)], cwd=self.repo_root)
        elif self.path.exists():
            shutil.rmtree(self.path)
        git(["worktree", "prune"], cwd=self.repo_root)

    def _git(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: bytes | None = None
    ) -> bytes:
        return git(args, cwd=self.path, env=env, stdin=stdin)

    def reset(self) -> None:
        """Back to the fork tip: tracked files restored, untracked ones removed."""
        self._git(["reset", "--quiet", "--hard", "HEAD"])
        keep = [arg for path in workspace.prepared_paths(self.path) for arg in ("-e", "/" + path)]
        self._git(["clean", "-ffdq", *keep])  # twice -f: nested repositories an executor made go too

    def refresh_index(self) -> None:
        """The index back in line with HEAD, keeping the files as they are."""
        self._git(["reset", "--quiet", "--mixed", "HEAD"])

    def sync_index(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Set index entries (mode, object id, path; mode "0" removes) to what was committed.

        The entries name objects, not files on disk, so an executor already at work on the
        next step cannot leak its edits into them. A split index keeps the write small on
        big repositories; git refreshes the stat data lazily."""
        if not entries:
            return
        lines = "".join(
            f"{mode} {oid}\t{path}\n" if mode != "0" else f"0 {'0' * 40}\t{path}\n"
            for mode, oid, path in entries
        )
        self._git(
            ["-c", "core.splitIndex=true", "update-index", "--index-info"],
            stdin=lines.encode("utf-8", "surrogateescape"),
        )

    def _admin_dir(self, git_common_dir: Path) -> Path | None:
        """The repository's administrative directory for this worktree (.git/worktrees/<name>)."""
        expected = str(self.path / ".git")
        for gitdir in (git_common_dir / "worktrees").glob("*/gitdir"):
            if gitdir.read_text(encoding="utf-8", errors="replace").strip() == expected:
                return gitdir.parent
        return None

    def link_intact(self, git_common_dir: Path) -> bool:
        """The worktree's `.git` file still points at its administrative directory."""
        dot_git = self.path / ".git"
        admin = self._admin_dir(git_common_dir)
        if admin is None or dot_git.is_symlink() or not dot_git.is_file():
            return False
        return dot_git.read_text(encoding="utf-8", errors="replace").strip() == f"gitdir: {admin}"

    def restore_link(self, git_common_dir: Path) -> None:
        """Rewrite a `.git` file an executor replaced or broke, so git works here again."""
        admin = self._admin_dir(git_common_dir)
        if admin is None:
            raise ConductorError(f"the worktree {self.path} is no longer registered with git")
        dot_git = self.path / ".git"
        if dot_git.is_dir() and not dot_git.is_symlink():
            shutil.rmtree(dot_git)
        elif dot_git.exists() or dot_git.is_symlink():
            dot_git.unlink()
        dot_git.write_text(f"gitdir: {admin}\n", encoding="utf-8")


def require_commit(repo_root: Path) -> str:
    try:
        return git_text(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=repo_root)
    except ConductorError:
        raise ConductorError(
            "the repository has no commits yet: a plan starts from a commit",
            hint="commit something first (git commit), then run the plan",
        ) from None
