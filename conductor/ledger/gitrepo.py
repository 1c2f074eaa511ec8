"""GitRepo: the Repo port (conductor.ledger.repo) over a repository on disk.

Objects, trees, commits and refs go through pygit2 (one handle per thread: libgit2 objects are
not thread-safe); listing refs, ordering tips by time and streaming many logs go through the git
CLI, which seeks prefixes in the packed refs, reads the commit-graph and reads packs faster.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pygit2
from pygit2.enums import SortMode

from conductor.errors import LedgerError, NotARepositoryError
from conductor.ledger import code, tree
from conductor.ledger.changes import Changes, Entry
from conductor.ledger.identity import Identity, who_commits
from conductor.ledger.repo import Commit, Found, Person, TreeDiff
from conductor.ledger.scan import scan

RACES = (pygit2.GitError, pygit2.AlreadyExistsError, OSError, ValueError)
"""What libgit2 raises when a ref moved since it was read, or another writer holds its lock."""


class GitRepo:
    """A git repository on disk (conductor.ledger.repo.Repo). Safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        found = pygit2.discover_repository(os.fspath(path))
        if found is None:
            raise NotARepositoryError(
                f"not a git repository: {Path(path).resolve()}",
                hint="run `conductor init NAME` to create a project, or `git init` first",
            )
        self._path = found
        self._local = threading.local()
        self._identity: Identity | None = None
        self._git_dir = Path(self.handle.path).resolve()

    @property
    def handle(self) -> pygit2.Repository:
        """This thread's pygit2 handle on the repository."""
        handle: pygit2.Repository | None = getattr(self._local, "repo", None)
        if handle is None:
            handle = pygit2.Repository(self._path)
            self._local.repo = handle
        return handle

    @property
    def git_dir(self) -> Path:
        return self._git_dir

    def committer(self) -> Identity:
        """conductor.ledger.identity.who_commits, looked up once."""
        found = self._identity
        if found is None:
            found = self._identity = who_commits(self._git_dir)
        return found

    # -- objects ---------------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str:
        return str(self.handle.create_blob(data))

    def object_bytes(self, oid: str) -> bytes:
        _, data = self.handle.odb.read(pygit2.Oid(hex=oid))
        return bytes(data)

    def lookup(self, spec: str) -> tuple[str, str] | None:
        try:
            obj = self.handle.revparse_single(spec)
        except (KeyError, ValueError, pygit2.GitError):
            return None
        return str(obj.id), str(obj.type_str)

    # -- trees -----------------------------------------------------------------------------

    def apply(self, base_tree: str | None, changes: Changes) -> str:
        handle = self.handle
        base = handle.get(base_tree) if base_tree is not None else None
        assert base is None or isinstance(base, pygit2.Tree)
        return str(tree.apply(handle, base, changes))

    def tree_view(self, tree_id: str) -> tree.GitTree:
        handle = self.handle
        found = handle.get(tree_id)
        if not isinstance(found, pygit2.Tree):
            raise LedgerError(f"{tree_id} is not a tree")
        return tree.GitTree(handle, found)

    def entry(self, commit: str, path: str) -> tuple[str, Entry | None]:
        return code.entry(self.handle, commit, path)

    def find(self, commit: str, path: str) -> Found:
        return code.find(self.handle, commit, path)

    def files_under(self, commit: str, path: str) -> list[str]:
        return code.files_under(self.handle, commit, path)

    def changed_paths(self, old_tree: str, new_tree: str) -> list[str]:
        return code.changed_paths(self.handle, old_tree, new_tree)

    def diff_trees(self, old_tree: str, new_tree: str, paths: list[str]) -> TreeDiff:
        return code.diff_paths(self.handle, old_tree, new_tree, paths)

    # -- commits ---------------------------------------------------------------------------

    def create_commit(
        self, tree_id: str, *, parents: list[str], message: str, author: Person, committer: Person, when: int
    ) -> str:
        made = self.handle.create_commit(
            None,
            pygit2.Signature(author[0], author[1], when, 0),
            pygit2.Signature(committer[0], committer[1], when, 0),
            message,
            pygit2.Oid(hex=tree_id),
            [pygit2.Oid(hex=p) for p in parents],
        )
        return str(made)

    def git_commit(self, oid: str) -> pygit2.Commit:
        """The pygit2 commit `oid` (LedgerError if it is none)."""
        obj = self.handle.get(oid)
        if not isinstance(obj, pygit2.Commit):
            raise LedgerError(f"{oid} is not a commit")
        return obj

    def read_commit(self, oid: str) -> Commit:
        found = self.git_commit(oid)
        parents = tuple(str(p) for p in found.parent_ids)
        return Commit(str(found.id), str(found.tree_id), parents, found.message, int(found.commit_time))

    def first_parents(self, start: str) -> Iterator[tuple[str, str]]:
        # Parent links are followed with Commit.parents: looking each commit up by id through
        # Repository.__getitem__ is an order of magnitude slower on long logs.
        commit = self.git_commit(start)
        while True:
            yield str(commit.id), commit.message
            parents = commit.parents
            if not parents:
                return
            commit = parents[0]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        return bool(self.handle.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))

    def commits_between(self, ancestor: str, tip: str) -> list[tuple[str, str]]:
        walker = self.handle.walk(pygit2.Oid(hex=tip), SortMode.TOPOLOGICAL)
        walker.hide(pygit2.Oid(hex=ancestor))
        return [(str(c.id), c.message.split("\n", 1)[0]) for c in walker]

    def walk_logs(self, starts: Mapping[str, str], *, newest_first: bool) -> Iterator[tuple[str, str, str]]:
        """Through one `git log --date-order --source` (conductor.ledger.scan)."""
        return scan(self._git_dir, starts, newest_first=newest_first)

    def newest_first(self, tips: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """In one `git rev-list --no-walk=sorted`, which takes the times from the commit-graph
        when git keeps one (`git gc` writes it): cheaper than reading every commit."""
        by_commit: dict[str, list[str]] = {}
        for name, commit in tips:
            by_commit.setdefault(commit, []).append(name)
        if not by_commit:
            return []
        out = self._git(
            ["rev-list", "--no-walk=sorted", "--stdin"], stdin="".join(f"{c}\n" for c in by_commit)
        )
        return [(name, commit) for commit in out.split() for name in sorted(by_commit.get(commit, []))]

    # -- refs ------------------------------------------------------------------------------

    def ref(self, name: str) -> str | None:
        found = self.handle.references.get(name)
        return str(found.resolve().target) if found is not None else None

    def set_ref(self, name: str, target: str, *, expect: str | None, message: str) -> bool:
        """libgit2's matching ref update: `set_target` fails if the ref moved since it was read."""
        references, oid = self.handle.references, pygit2.Oid(hex=target)
        try:
            if expect is None:
                references.create(name, oid)
                return True
            current = references.get(name)
            if current is None or str(current.resolve().target) != expect:
                return False
            current.set_target(oid, message)
        except RACES as exc:
            if isinstance(exc, OSError) and "lock" not in str(exc):
                raise LedgerError(f"cannot update {name}: {exc}") from exc
            return False
        return True

    def ref_tips(self, *patterns: str) -> list[tuple[str, str]]:
        """Through one `git for-each-ref`, which seeks each prefix in the packed refs, so the cost
        follows what is listed, not every ref."""
        args = ["for-each-ref", "--format=%(refname)%00%(objectname)", "--", *patterns]
        return [
            (name, target)
            for name, _, target in (row.partition("\0") for row in self._git(args).splitlines())
        ]

    def _git(self, args: list[str], *, stdin: str | None = None) -> str:
        proc = subprocess.run(
            ["git", f"--git-dir={self._git_dir}", *args],
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise LedgerError(f"git {args[0]} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
        return proc.stdout.decode("utf-8", "replace")
