"""The Repo port: the git the ledger is built on, as a protocol with two implementations.

`GitRepo` (conductor.ledger.gitrepo) is a repository on disk through pygit2 and, where git is
faster or exact, the git CLI. `MemoryRepo` (conductor.ledger.memrepo) is plain dicts: object
ids computed as git computes them, refs moved by the same compare-and-swap, no git and no
subprocess. tests/ledger/test_repo_contract.py runs one suite against both.

Object ids are 40-hex strings throughout; a commit's time is in epoch seconds, UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from conductor.gitdiff import Change
from conductor.ledger.changes import Changes, Entry
from conductor.ledger.identity import Identity

Person = tuple[str, str]
"""Who signs a commit: (name, email)."""


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit as the ledger reads it."""

    id: str
    tree: str
    parents: tuple[str, ...]
    message: str
    time: int  # the committer's, in epoch seconds


@dataclass(frozen=True)
class Found:
    """What a path is at a commit, without reading a blob: its kind ("blob", "tree" or "none"),
    and for a blob its mode, object id and size."""

    kind: str
    mode: int = 0
    oid: str = ""
    size: int = 0


@dataclass
class TreeDiff:
    """What changed between two trees: changes (renames found), line counts, a patch."""

    changes: list[Change] = field(default_factory=list)
    counts: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    patch: bytes = b""


class TreeView(Protocol):
    """One tree, read by path (a snapshot's records)."""

    def read(self, path: str) -> bytes | None:
        """The bytes of the blob at `path`, or None."""
        ...

    def listdir(self, path: str = "") -> list[str]:
        """Names directly under directory `path` ('' for the root), sorted; [] if absent."""
        ...

    def exists(self, path: str) -> bool: ...

    def files(self, path: str = "") -> Iterator[str]:
        """Every blob path under `path`, recursively, in tree order."""
        ...


class Repo(Protocol):
    """Objects, trees, commits and refs; the few diff and ancestry queries the ledger's callers
    need. Safe to share between threads."""

    @property
    def git_dir(self) -> Path | None:
        """The git directory on disk (where the runner keeps its private state), if any."""
        ...

    def committer(self) -> Identity:
        """Who the commits Conductor makes here are by (conductor.ledger.identity)."""
        ...

    # -- objects ---------------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str: ...

    def object_bytes(self, oid: str) -> bytes:
        """The raw content of an object (for a commit: the headers and message git hashes)."""
        ...

    def lookup(self, spec: str) -> tuple[str, str] | None:
        """(id, type: "commit", "tree", "blob" or "tag") of what `spec` names (an object id,
        or a ref; GitRepo takes any revision git does), or None."""
        ...

    # -- trees -----------------------------------------------------------------------------

    def apply(self, base_tree: str | None, changes: Changes) -> str:
        """Write the tree `base_tree` + `changes`, touching only the changed paths; its id."""
        ...

    def tree_view(self, tree_id: str) -> TreeView: ...

    def entry(self, commit: str, path: str) -> tuple[str, Entry | None]:
        """What `path` is at `commit`: ("blob", (mode, data)), ("tree", None) or ("none", None)."""
        ...

    def find(self, commit: str, path: str) -> Found:
        """What `path` is at `commit`, a blob's size without reading it whole."""
        ...

    def files_under(self, commit: str, path: str) -> list[str]:
        """Every file path under directory `path` at `commit`."""
        ...

    def changed_paths(self, old_tree: str, new_tree: str) -> list[str]:
        """Every path whose entry differs between two trees, sorted (cost follows the difference)."""
        ...

    def diff_trees(self, old_tree: str, new_tree: str, paths: list[str]) -> TreeDiff:
        """The difference at `paths` only (directories expand): the cost follows the change."""
        ...

    # -- commits ---------------------------------------------------------------------------

    def create_commit(
        self, tree_id: str, *, parents: list[str], message: str, author: Person, committer: Person, when: int
    ) -> str:
        """Write a commit (no ref moves), both signatures at `when` in UTC."""
        ...

    def read_commit(self, oid: str) -> Commit:
        """The commit `oid` (LedgerError if it is none)."""
        ...

    def first_parents(self, start: str) -> Iterator[tuple[str, str]]:
        """(id, message) of `start` and its first parents, newest first, lazily."""
        ...

    def is_ancestor(self, ancestor: str, descendant: str) -> bool: ...

    def commits_between(self, ancestor: str, tip: str) -> list[tuple[str, str]]:
        """The commits reachable from `tip` but not from `ancestor`, newest first: (id, subject)."""
        ...

    def walk_logs(self, starts: Mapping[str, str], *, newest_first: bool) -> Iterator[tuple[str, str, str]]:
        """(commit, log name, message) of every commit of several logs (name -> start) in
        commit-time order by the second, each log in its own order, as `git log --date-order`."""
        ...

    def newest_first(self, tips: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """`tips` ((name, commit)) ordered by their commits' times, newest first."""
        ...

    # -- refs ------------------------------------------------------------------------------

    def ref(self, name: str) -> str | None:
        """The commit the ref `name` points at, or None when there is no such ref."""
        ...

    def set_ref(self, name: str, target: str, *, expect: str | None, message: str) -> bool:
        """Point `name` at `target` only if it still points at `expect` (None: only if it does
        not exist). False when it does not, or another writer holds it: nothing moved."""
        ...

    def ref_tips(self, *patterns: str) -> list[tuple[str, str]]:
        """(name, target) of the refs matching `patterns`, sorted by name. A pattern is a full
        ref name or a prefix ending in `/`, as `git for-each-ref` takes them (no pattern: all)."""
        ...
