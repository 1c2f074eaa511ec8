"""Where a fork's step runs and how its change is found: the `Workspace` the fork room asks,
whatever lies behind it. Today that is a git worktree (worktree.py): a checkout of the fork's
branch in Conductor's state directory, which an executor edits and Conductor reads back.

Everything the runner does to a fork's files from the host — make it, set it up, watch it, read
the attempt's change, put back what verify commands wrote, reset it after a rejection, bring
its index up to an accepted commit, check its link to the repository — goes through this
protocol, so another way to keep a fork's files only has to implement it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from conductor.ledger.store import Ledger
from conductor.ledger.tree import Entry
from conductor.policy.effective import EffectivePolicy
from conductor.runner.place.detection import ChangedFiles, Limits, Watcher
from conductor.runner.place.workspace import Prepared
from conductor.sandbox.confinement import Confinement


class Workspace(Protocol):
    """A fork's files, as its executor and verify commands see them at `path`."""

    path: Path  # where the fork's processes work (and the task says they do)
    repo_root: Path  # the user's checkout

    def exists(self) -> bool: ...

    def create(self, branch: str) -> bool:
        """Make it on `branch` unless it exists; True when made just now (clean: no reset needed)."""
        ...

    def remove(self) -> None: ...

    def reset(self) -> None:
        """Back to the fork tip: the attempt's changes gone, the workspace's own files kept."""
        ...

    def refresh_index(self) -> None:
        """Its index in line with the fork tip (after a crash cut a sync short)."""
        ...

    def advance(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """The fork tip moved to the accepted commit whose change these entries are: its files
        show it before the next attempt starts."""
        ...

    def sync_index(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Its index entries (mode, object id, path; mode "0" removes) set to what was committed."""
        ...

    def link_intact(self, git_dir: Path) -> bool:
        """Its `.git` still leads to its git directory."""
        ...

    def restore_link(self, git_dir: Path) -> None: ...

    def declare_scratch(self, patterns: Sequence[str]) -> None:
        """The executor's scratch files (gitignore patterns): never a change."""
        ...

    def watch(self) -> Watcher | None:
        """A watcher of what is written from now on (None: none can run; changed_paths() then)."""
        ...

    def changed_paths(self) -> set[str]:
        """The candidates of a change the slow way, without a watcher."""
        ...

    def read_changes(
        self, ledger: Ledger, parent: str, candidates: Iterable[str], *, limits: Limits | None = None
    ) -> ChangedFiles:
        """The `candidates` as they are now, against the fork tip `parent` (detection.read_changes)."""
        ...

    def restore(self, files: Mapping[str, Entry | None]) -> None:
        """Write `files` (None: remove) in their order, e.g. to undo what verify commands wrote."""
        ...

    def confined(self, confinement: Confinement, *, verify: bool = False) -> Confinement:
        """`confinement` as its processes need it to see the workspace (`verify`: verify commands,
        whose writes are not the attempt's)."""
        ...

    def prepare(self, policy: EffectivePolicy, confinement: Confinement, timeout: float) -> Prepared | None:
        """workspace.copy and workspace.setup, when new or a setup input changed; None: nothing to do."""
        ...
