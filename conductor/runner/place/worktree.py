"""The git worktree of a fork: where executors edit, checked out on the fork's branch.

Worktrees live outside the repository, in Conductor's per-user state directory
(`~/.local/state/conductor/<repository>/worktrees/<plan>/<fork>`, or where the policy's
`workspace.worktrees` says; conductor.project.private_state): agents treat anything under
`.git/` as sensitive, and a tool that walks up from a worktree (pytest, node, an editor) must
find the worktree alone, never the user's checkout. Worktrees that older versions made inside
`.git/conductor/worktrees/` are moved out the next time their fork runs. Operations use the git
CLI, which handles checkouts, .gitignore and the index exactly as users expect.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.ledger.store import Ledger
from conductor.ledger.tree import Entry
from conductor.policy.effective import EffectivePolicy
from conductor.project import private_state
from conductor.runner.logs.plans import load_plan
from conductor.runner.place import detection, layered, workspace
from conductor.sandbox.confinement import Confinement

_CREATING = threading.Lock()


class Worktree:
    """A fork's workspace (spaces.Workspace) as a git worktree of its branch."""

    def __init__(self, path: Path, *, repo_root: Path) -> None:
        self.path = path
        self.repo_root = repo_root

    @classmethod
    def location(cls, state: Path, plan: str, fork: str) -> Path:
        """Where a fork's worktree goes, in the repository's private state directory."""
        return state / "worktrees" / plan / fork

    @classmethod
    def legacy_location(cls, git_common_dir: Path, plan: str, fork: str) -> Path:
        """Where versions before 0.2 put it: inside the repository's git directory."""
        return git_common_dir / "conductor" / "worktrees" / plan / fork

    def exists(self) -> bool:
        return (self.path / ".git").is_file()

    def create(self, branch: str) -> bool:
        """Check out `branch` (which must exist) here, unless that is already done; True when it
        was checked out just now — clean by construction, so nothing need reset it (a reset
        right after a checkout hashes every file again: git sees them all as racily clean)."""
        with _CREATING:  # `git worktree add` run in parallel contends for the same locks
            return self._create(branch)

    def _create(self, branch: str) -> bool:
        if self.exists():
            return False
        if self.path.exists():  # a half-made worktree from a crash: start again
            shutil.rmtree(self.path)
            git(["worktree", "prune"], cwd=self.repo_root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._moved_here(branch):
            return False
        # The short name checks the branch out; a full refs/heads/… name would detach HEAD.
        git(
            ["worktree", "add", "--quiet", str(self.path), branch.removeprefix("refs/heads/")],
            cwd=self.repo_root,
        )
        return True

    def _moved_here(self, branch: str) -> bool:
        """Move the worktree the branch is checked out in (one an older version made inside
        .git, or one the state directory had before it moved) here; True if done. A worktree
        that cannot be moved (another file system) is removed, to be made again."""
        elsewhere = checked_out(self.repo_root, branch)
        if elsewhere is None or elsewhere == self.path:
            return False
        if elsewhere.parts[-2:] != self.path.parts[-2:]:  # not one of Conductor's: the user's
            raise ConductorError(
                f"the branch {branch.removeprefix('refs/heads/')} is checked out in {elsewhere}",
                hint=f"Conductor checks it out in {self.path}: switch that worktree to another branch"
                f" or remove it (git worktree remove {elsewhere})",
            )
        if not elsewhere.exists():
            git(["worktree", "prune"], cwd=self.repo_root)
            return False
        try:
            git(["worktree", "move", str(elsewhere), str(self.path)], cwd=self.repo_root)
        except ConductorError:
            git(["worktree", "remove", "--force", str(elsewhere)], cwd=self.repo_root)
            return False
        return True

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

    def advance(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Nothing to do: the executor wrote the commit's files in the worktree itself."""

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

    def declare_scratch(self, patterns: Sequence[str]) -> None:
        workspace.declare_scratch(self.path, patterns)

    def watch(self) -> detection.Watcher | None:
        watcher = detection.Watcher(self.path)
        return watcher if watcher.active else None

    def changed_paths(self) -> set[str]:
        return detection.from_status(self.path)

    def read_changes(
        self,
        ledger: Ledger,
        parent: str,
        candidates: Iterable[str],
        *,
        limits: detection.Limits | None = None,
    ) -> detection.ChangedFiles:
        return detection.read_changes(self.path, ledger, parent, candidates, limits=limits)

    def restore(self, files: Mapping[str, Entry | None]) -> None:
        detection.restore(self.path, dict(files))

    def confined(self, confinement: Confinement, *, verify: bool = False) -> Confinement:
        return confinement  # the worktree is bound in as it is

    def prepare(
        self, policy: EffectivePolicy, confinement: Confinement, timeout: float
    ) -> workspace.Prepared | None:
        spot = workspace.WorktreeSpot(self.path)
        return workspace.prepare(spot, self.path, self.repo_root, policy, confinement, timeout)

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


def checked_out(repo_root: Path, branch: str) -> Path | None:
    """The worktree `branch` is checked out in, as git lists it (existing or not), if any."""
    listing = git(["worktree", "list", "--porcelain", "-z"], cwd=repo_root).decode("utf-8", "surrogateescape")
    path: str | None = None
    full = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    for field in listing.split("\0"):
        if field.startswith("worktree "):
            path = field.removeprefix("worktree ")
        elif field == f"branch {full}" and path is not None:
            return Path(path)
    return None


def fork_worktree(
    *, repo_root: Path, git_dir: Path, plan: str, fork: str, configured: str | None, live: bool = False
) -> Worktree:
    """The worktree of a fork. `configured` is the plan's `workspace.worktrees`; `live`: an attempt
    is out, working in the worktree the task names, so one an older version made in .git stays
    there until it is back."""
    legacy = Worktree.legacy_location(git_dir, plan, fork)
    if live and (legacy / ".git").is_file():
        return Worktree(legacy, repo_root=repo_root)
    state = private_state(repo_root, git_dir, configured=configured)
    return Worktree(Worktree.location(state, plan, fork), repo_root=repo_root)


def worktrees_setting(ledger: Ledger, plan: str) -> str | None:
    """A plan's `workspace.worktrees`, as its policy was recorded (None: the default, or a plan
    whose records cannot be read — its worktrees are found by their branches then)."""
    try:
        record = load_plan(ledger, plan)
        return record.effective(record.spec.forks[0].id).worktrees
    except ConductorError:
        return None


def remove_fork_worktree(
    *, repo_root: Path, git_dir: Path, plan: str, fork: str, configured: str | None
) -> list[Path]:
    """Remove a fork's worktree wherever Conductor made it (its place, the one older versions
    used in .git, wherever its branch is checked out in one of Conductor's), and its layers
    (layered.py); the paths removed."""
    private = private_state(repo_root, git_dir, configured=configured)
    layers = layered.home(private, plan, fork)
    if layers.exists():
        shutil.rmtree(layers, ignore_errors=True)
        with contextlib.suppress(OSError):
            layers.parent.rmdir()  # the plan's folder, once its last fork's layers are gone
    candidates = [
        Worktree.location(private, plan, fork),
        Worktree.legacy_location(git_dir, plan, fork),
    ]
    elsewhere = checked_out(repo_root, f"refs/heads/conductor/{plan}/{fork}")
    if elsewhere is not None and elsewhere.parts[-2:] == (plan, fork) and elsewhere not in candidates:
        candidates.append(elsewhere)
    removed = []
    for path in candidates:
        if path.exists():
            Worktree(path, repo_root=repo_root).remove()
            removed.append(path)
    return removed


def require_commit(repo_root: Path) -> str:
    try:
        return git_text(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=repo_root)
    except ConductorError:
        raise ConductorError(
            "the repository has no commits yet: a plan starts from a commit",
            hint="commit something first (git commit), then run the plan",
        ) from None
