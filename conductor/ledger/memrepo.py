"""MemoryRepo: the Repo port (conductor.ledger.repo) in plain dicts, with no git and no subprocess.

Objects are stored as git stores them and named by the SHA-1 git computes over the same bytes,
so a blob, tree or commit written here has the id it would have in a repository on disk (and
a Ledger on either makes the same commits for the same events at the same clock). Refs move by
the same compare-and-swap, under one lock. A Ledger on one: `Ledger.in_memory()`, or
`Ledger(repo=MemoryRepo())`.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from conductor.errors import LedgerError
from conductor.ledger import diff
from conductor.ledger.changes import GITLINK, TREE, Changes, Entry, as_entry, split
from conductor.ledger.identity import FALLBACK_EMAIL, FALLBACK_NAME, Identity
from conductor.ledger.patch import TextPatch
from conductor.ledger.repo import Commit, Found, Person, TreeDiff

Tree = dict[str, tuple[int, str]]
"""A tree: name -> (mode, object id)."""

MODES = (0o100644, 0o100755, 0o120000, TREE, GITLINK)
_CRUD = frozenset(",:;<>\"\\'")


class MemoryRepo:
    """A repository in memory (conductor.ledger.repo.Repo). Safe to share between threads."""

    def __init__(self, *, identity: Identity | None = None, git_dir: Path | None = None) -> None:
        self._objects: dict[str, tuple[str, bytes]] = {}
        self._trees: dict[str, Tree] = {}
        self._commits: dict[str, Commit] = {}
        self._refs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._identity = identity or Identity(FALLBACK_NAME, FALLBACK_EMAIL)
        self._git_dir = git_dir
        self.empty_tree = self._write("tree", b"")
        self._trees[self.empty_tree] = {}

    @property
    def git_dir(self) -> Path | None:
        return self._git_dir

    def committer(self) -> Identity:
        return self._identity

    # -- objects ---------------------------------------------------------------------------

    def _write(self, kind: str, content: bytes) -> str:
        oid = hashlib.sha1(f"{kind} {len(content)}\0".encode() + content, usedforsecurity=False).hexdigest()
        self._objects.setdefault(oid, (kind, content))
        return oid

    def write_blob(self, data: bytes) -> str:
        return self._write("blob", bytes(data))

    def object_bytes(self, oid: str) -> bytes:
        found = self._objects.get(oid)
        if found is None:
            raise LedgerError(f"no object {oid}")
        return found[1]

    def lookup(self, spec: str) -> tuple[str, str] | None:
        oid = self._refs.get(spec, spec)
        found = self._objects.get(oid)
        return (oid, found[0]) if found is not None else None

    # -- trees -----------------------------------------------------------------------------

    def _tree(self, oid: str) -> Tree:
        found = self._trees.get(oid)
        if found is None:
            raise LedgerError(f"{oid} is not a tree")
        return found

    def _write_tree(self, entries: Tree) -> str:
        ordered = sorted(entries.items(), key=lambda item: _tree_order(item[0], item[1][0]))
        raw = b"".join(f"{mode:o} {name}\0".encode() + bytes.fromhex(oid) for name, (mode, oid) in ordered)
        oid = self._write("tree", raw)
        self._trees.setdefault(oid, dict(ordered))
        return oid

    def apply(self, base_tree: str | None, changes: Changes) -> str:
        built = self._build(self._tree(base_tree) if base_tree is not None else None, changes)
        return built if built is not None else self.empty_tree

    def _build(self, base: Tree | None, changes: Changes) -> str | None:
        direct, nested = split(changes)
        entries = dict(base or {})
        for name, content in direct.items():
            if content is None:
                entries.pop(name, None)
                continue
            mode, data = as_entry(content)
            if mode not in MODES:
                raise ValueError(f"invalid mode {mode:o} for '{name}'")
            entries[name] = (mode, self.write_blob(data))
        for name, sub_changes in nested.items():
            old = entries.get(name)
            sub = self._build(self._trees[old[1]] if old and old[0] == TREE else None, sub_changes)
            if sub is None:
                entries.pop(name, None)
            else:
                entries[name] = (TREE, sub)
        return self._write_tree(entries) if entries else None

    def entry_at(self, tree_id: str, path: str) -> tuple[int, str] | None:
        """The entry at `path` under a tree, or None."""
        found: tuple[int, str] = (TREE, tree_id)
        for part in path.split("/"):
            if found[0] != TREE or not part:
                return None
            entry = self._trees[found[1]].get(part)
            if entry is None:
                return None
            found = entry
        return found

    def tree_entries(self, tree_id: str) -> Tree:
        return self._tree(tree_id)

    def tree_view(self, tree_id: str) -> MemoryTree:
        self._tree(tree_id)
        return MemoryTree(self, tree_id)

    def _commit_at(self, commit: str, path: str) -> tuple[int, str] | None:
        return self.entry_at(self.read_commit(commit).tree, path)

    def entry(self, commit: str, path: str) -> tuple[str, Entry | None]:
        found = self._commit_at(commit, path)
        if found is None or found[0] == GITLINK:
            return "none", None
        if found[0] == TREE:
            return "tree", None
        return "blob", (found[0], self.object_bytes(found[1]))

    def find(self, commit: str, path: str) -> Found:
        found = self._commit_at(commit, path)
        if found is None or found[0] == GITLINK:
            return Found("none")
        if found[0] == TREE:
            return Found("tree")
        return Found("blob", found[0], found[1], len(self.object_bytes(found[1])))

    def files_under(self, commit: str, path: str) -> list[str]:
        found = self._commit_at(commit, path)
        return list(self.walk(found[1], path)) if found is not None and found[0] == TREE else []

    def walk(self, tree_id: str, prefix: str) -> Iterator[str]:
        """Every non-tree path under a tree, in tree order."""
        for name, (mode, oid) in self._trees[tree_id].items():
            path = f"{prefix}/{name}" if prefix else name
            if mode == TREE:
                yield from self.walk(oid, path)
            else:
                yield path

    def changed_paths(self, old_tree: str, new_tree: str) -> list[str]:
        found: set[str] = set()
        self._changed(self._tree(old_tree), self._tree(new_tree), "", found)
        return sorted(found)

    def _changed(self, old: Tree, new: Tree, prefix: str, found: set[str]) -> None:
        for name in old.keys() | new.keys():
            before, after = old.get(name), new.get(name)
            if before == after:
                continue
            path = f"{prefix}/{name}" if prefix else name
            trees = [e[1] for e in (before, after) if e is not None and e[0] == TREE]
            if len(trees) == 2:
                self._changed(self._trees[trees[0]], self._trees[trees[1]], path, found)
                continue
            for sub in trees:
                found.update(self.walk(sub, path))
            if any(e is not None and e[0] != TREE for e in (before, after)):
                found.add(path)

    def diff_trees(self, old_tree: str, new_tree: str, paths: list[str]) -> TreeDiff:
        return diff.diff_paths(_Sides(self, old_tree, new_tree), paths)

    # -- commits ---------------------------------------------------------------------------

    def create_commit(
        self, tree_id: str, *, parents: list[str], message: str, author: Person, committer: Person, when: int
    ) -> str:
        self._tree(tree_id)
        for parent in parents:
            self.read_commit(parent)
        lines = [f"tree {tree_id}", *(f"parent {p}" for p in parents)]
        lines += [f"author {_signature(*author, when)}", f"committer {_signature(*committer, when)}"]
        oid = self._write("commit", ("\n".join(lines) + "\n\n" + message).encode("utf-8"))
        self._commits.setdefault(oid, Commit(oid, tree_id, tuple(parents), message, when))
        return oid

    def read_commit(self, oid: str) -> Commit:
        found = self._commits.get(oid)
        if found is None:
            raise LedgerError(f"{oid} is not a commit")
        return found

    def first_parents(self, start: str) -> Iterator[tuple[str, str]]:
        commit = self.read_commit(start)
        while True:
            yield commit.id, commit.message
            if not commit.parents:
                return
            commit = self._commits[commit.parents[0]]

    def _reachable(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            oid = todo.pop()
            if oid not in seen:
                seen.add(oid)
                todo.extend(self.read_commit(oid).parents)
        return seen

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return ancestor in self._reachable(descendant)

    def commits_between(self, ancestor: str, tip: str) -> list[tuple[str, str]]:
        """Children before their parents; among a merge's parents, the order may differ from
        libgit2's topological walk."""
        hidden = self._reachable(ancestor)
        wanted = {oid: self._commits[oid] for oid in self._reachable(tip) - hidden}
        ordered = _date_order(wanted, {tip: ""})
        return [(oid, wanted[oid].message.split("\n", 1)[0]) for oid, _ in ordered]

    def walk_logs(self, starts: Mapping[str, str], *, newest_first: bool) -> Iterator[tuple[str, str, str]]:
        names = {start: name for name, start in starts.items()}
        reached: dict[str, Commit] = {}
        for start in names:
            reached.update((oid, self._commits[oid]) for oid in self._reachable(start))
        ordered = _date_order(reached, names)
        if not newest_first:
            ordered.reverse()
        return iter([(oid, source, reached[oid].message) for oid, source in ordered])

    def newest_first(self, tips: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        by_commit: dict[str, list[str]] = {}
        for name, commit in tips:
            by_commit.setdefault(commit, []).append(name)
        ordered = sorted(by_commit, key=lambda c: -self.read_commit(c).time)
        return [(name, commit) for commit in ordered for name in sorted(by_commit[commit])]

    # -- refs ------------------------------------------------------------------------------

    def ref(self, name: str) -> str | None:
        return self._refs.get(name)

    def set_ref(self, name: str, target: str, *, expect: str | None, message: str) -> bool:
        if target not in self._objects:
            raise LedgerError(f"cannot update {name}: no object {target}")
        with self._lock:
            if self._refs.get(name) != expect:
                return False
            self._refs[name] = target
            return True

    def ref_tips(self, *patterns: str) -> list[tuple[str, str]]:
        with self._lock:
            tips = sorted(self._refs.items())
        if not patterns:
            return tips
        return [(name, target) for name, target in tips if any(_matches(name, p) for p in patterns)]


class MemoryTree:
    """One tree of a MemoryRepo, read by path."""

    def __init__(self, repo: MemoryRepo, tree_id: str) -> None:
        self._repo = repo
        self._tree_id = tree_id

    def _dir(self, path: str) -> str | None:
        """The tree at directory `path` ('' for the root), or None."""
        found = self._repo.entry_at(self._tree_id, path) if path else (TREE, self._tree_id)
        return found[1] if found is not None and found[0] == TREE else None

    def read(self, path: str) -> bytes | None:
        found = self._repo.entry_at(self._tree_id, path)
        if found is None or found[0] in (TREE, GITLINK):
            return None
        return self._repo.object_bytes(found[1])

    def listdir(self, path: str = "") -> list[str]:
        found = self._dir(path)
        return sorted(self._repo.tree_entries(found)) if found is not None else []

    def exists(self, path: str) -> bool:
        return self._repo.entry_at(self._tree_id, path) is not None

    def files(self, path: str = "") -> Iterator[str]:
        found = self._dir(path)
        if found is not None:
            yield from self._repo.walk(found, path)


class _Sides:
    def __init__(self, repo: MemoryRepo, old_tree: str, new_tree: str) -> None:
        self.repo, self.trees = repo, (old_tree, new_tree)

    def expand(self, path: str) -> list[str]:
        found: list[str] = []
        for tree_id in self.trees:
            entry = self.repo.entry_at(tree_id, path)
            found += list(self.repo.walk(entry[1], path)) if entry and entry[0] == TREE else [path]
        return found

    def _item(self, tree_id: str, path: str) -> diff.Item | None:
        entry = self.repo.entry_at(tree_id, path)
        return (entry[1], entry[0]) if entry is not None and entry[0] != TREE else None

    def old(self, path: str) -> diff.Item | None:
        return self._item(self.trees[0], path)

    def new(self, path: str) -> diff.Item | None:
        return self._item(self.trees[1], path)

    def patch(self, old: diff.Item | None, new: diff.Item | None, old_path: str, new_path: str) -> TextPatch:
        def side(item: diff.Item | None) -> tuple[str, bytes] | None:
            return (item[0], self.repo.object_bytes(item[0])) if item is not None else None

        return TextPatch(side(old), side(new), old_path, new_path)


def _tree_order(name: str, mode: int) -> bytes:
    """git sorts a tree's entries by name, a subtree's as if it ended in '/'."""
    return (name + "/" if mode == TREE else name).encode()


def _signature(name: str, email: str, when: int) -> str:
    """A signature line as libgit2 writes it: name and email trimmed of git's 'crud'."""
    if any(c in "<>" for c in name + email):
        raise ValueError("neither the name nor the email of a signature may contain angle brackets")
    name, email = _trim(name), _trim(email)
    if not name or not email:
        raise ValueError("a signature cannot have an empty name or email")
    return f"{name} <{email}> {when} +0000"


def _trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and (ord(text[start]) <= 32 or text[start] in _CRUD):
        start += 1
    while end > start and (ord(text[end - 1]) <= 32 or text[end - 1] in _CRUD):
        end -= 1
    return text[start:end]


def _matches(name: str, pattern: str) -> bool:
    """`git for-each-ref`'s literal match: the whole name, or a prefix up to a slash."""
    return name == pattern or name.startswith(pattern if pattern.endswith("/") else pattern + "/")


def _date_order(commits: Mapping[str, Commit], starts: Mapping[str, str]) -> list[tuple[str, str]]:
    """(id, start name) of `commits`, newest first with no parent before its children, as `git
    log --date-order --source` lists them; each commit named by the first start reaching it."""
    source: dict[str, str] = {}
    waiting = dict.fromkeys(commits, 0)  # children not listed yet
    for commit in commits.values():
        for parent in commit.parents:
            if parent in waiting:
                waiting[parent] += 1
    for start, name in starts.items():
        source.setdefault(start, name)
    heap = [(-commits[s].time, n, s) for n, s in enumerate(starts) if s in commits and waiting[s] == 0]
    heapq.heapify(heap)
    order = len(heap)
    out: list[tuple[str, str]] = []
    while heap:
        _, _, oid = heapq.heappop(heap)
        out.append((oid, source[oid]))
        for parent in commits[oid].parents:
            if parent not in waiting:
                continue
            source.setdefault(parent, source[oid])
            waiting[parent] -= 1
            if waiting[parent] == 0:
                order += 1
                heapq.heappush(heap, (-commits[parent].time, order, parent))
    return out
