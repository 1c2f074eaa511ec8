"""What the Ledger's callers ask of its Repo directly: ref listings, and the user's code objects
(ancestry, trees, diffs, commits).

Verification builds the tree of a step from the fork tip plus the files the executor changed,
diffs it against the tip and commits it, all in objects touching only the changed paths, so the
cost follows the size of the change and not of the repository. Nothing here is redacted: it is
the user's code. Each call is the Repo's (conductor.ledger.repo); `Ledger` has them as methods
so its callers need not hold the Repo.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping

from conductor.ledger import refs
from conductor.ledger.changes import Entry
from conductor.ledger.repo import Found, Repo, TreeDiff


class RepoQueries:
    """These methods of a Ledger (a mixin over its `backend` and `_clock`)."""

    backend: Repo
    _clock: Callable[[], dt.datetime]

    # -- ref listings ------------------------------------------------------------------------

    def ref_names(self, *patterns: str) -> list[str]:
        """The live refs matching `patterns` (default: every state ref), sorted by name."""
        return [name for name, _ in self.ref_tips(*patterns)]

    def ref_tips(self, *patterns: str) -> list[tuple[str, str]]:
        """(name, target) of the live refs matching `patterns` (default: every state ref),
        sorted by name. A pattern is a full ref name or a prefix ending in `/`, as `git
        for-each-ref` takes them: the cost follows what is listed, not every ref."""
        return self.backend.ref_tips(*(patterns or [refs.STATE_PREFIX]))

    def newest_first(self, tips: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """`tips` ((name, commit)) ordered by their commits' times, newest first (from git's
        commit-graph when it keeps one). Read a tip's own time with commit_time when it matters."""
        return self.backend.newest_first(tips)

    # -- code objects (the user's project: nothing redacted) --------------------------------

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.backend.is_ancestor(ancestor, descendant)

    def commits_between(self, ancestor: str, tip: str) -> list[tuple[str, str]]:
        """The commits reachable from `tip` but not from `ancestor`, newest first: (id, subject)."""
        return self.backend.commits_between(ancestor, tip)

    def commit_parent(self, commit: str) -> str | None:
        parents = self.backend.read_commit(commit).parents
        return parents[0] if parents else None

    def commit_time(self, commit: str) -> int:
        """A commit's committer time in epoch seconds (an event's second, for a ledger commit)."""
        return self.backend.read_commit(commit).time

    def tree_of(self, commit: str) -> str:
        return self.backend.read_commit(commit).tree

    def build_tree(self, base_commit: str, files: Mapping[str, Entry | None]) -> str:
        """The tree of `base_commit` with `files` replaced (None: deleted)."""
        return self.backend.apply(self.tree_of(base_commit), files)

    def diff_trees(self, old_tree: str, new_tree: str, paths: list[str]) -> TreeDiff:
        """The difference at `paths` (directories expand): the cost follows the change."""
        return self.backend.diff_trees(old_tree, new_tree, paths)

    def changed_paths(self, old_tree: str, new_tree: str) -> list[str]:
        """The paths whose entries differ between two trees (cost follows the difference)."""
        return self.backend.changed_paths(old_tree, new_tree)

    def create_commit(
        self,
        tree_id: str,
        *,
        parent: str,
        message: str,
        author: tuple[str, str],
        committer: tuple[str, str],
        when: int | None = None,
    ) -> str:
        when = int(self._clock().timestamp()) if when is None else when
        return self.backend.create_commit(
            tree_id, parents=[parent], message=message, author=author, committer=committer, when=when
        )

    def object_bytes(self, oid: str) -> bytes:
        """The raw content of a git object (for a commit: the headers and message git hashes)."""
        return self.backend.object_bytes(oid)

    def entry(self, commit: str, path: str) -> tuple[str, Entry | None]:
        return self.backend.entry(commit, path)

    def find(self, commit: str, path: str) -> Found:
        """What `path` is at `commit`, a blob's size from its header (nothing inflated)."""
        return self.backend.find(commit, path)

    def files_under(self, commit: str, path: str) -> list[str]:
        return self.backend.files_under(commit, path)
