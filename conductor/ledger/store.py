"""The Ledger: append events to state refs by compare-and-swap, and read them back lazily.

A log is a ref whose commits form a single chain, one commit per event. Each commit's
message is the event (conductor.ledger.message) and its tree is the complete record
snapshot after the event. Appending builds the new commit on the current tip and moves the
ref only if the tip has not moved meanwhile; on a lost race it rebuilds and tries again.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import os
import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pygit2
from pygit2.enums import ObjectType

from conductor import failpoints, secrets
from conductor.errors import LedgerConflictError, LedgerError, NotARepositoryError
from conductor.ledger import code, message, refs, tree
from conductor.ledger import format as ledger_format
from conductor.ledger.identity import Identity, who_commits
from conductor.ledger.scan import scan
from conductor.ledger.snapshot import Snapshot
from conductor.models.event import Event, EventType
from conductor.secrets import Redactor

Clock = Callable[[], dt.datetime]
ChangeFn = Callable[[Snapshot | None], tree.Changes | None]
FoldFn = Callable[[Snapshot | None, Event], tree.Changes]

MAX_ATTEMPTS = 200


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Ledger:
    """Conductor's state in one repository. Safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str] = ".", *, clock: Clock = utc_now) -> None:
        found = pygit2.discover_repository(os.fspath(path))
        if found is None:
            raise NotARepositoryError(
                f"not a git repository: {Path(path).resolve()}",
                hint="run `conductor init NAME` to create a project, or `git init` first",
            )
        self._path = found
        self._local = threading.local()
        self._clock = clock
        self._redactor: tuple[frozenset[str], Redactor] | None = None
        self._identity: Identity | None = None
        repo = self.repo
        self.git_dir = Path(repo.path).resolve()
        self.workdir = Path(repo.workdir).resolve() if repo.workdir else None

    # -- the repository ------------------------------------------------------------------

    @property
    def repo(self) -> pygit2.Repository:
        """This thread's handle on the repository (libgit2 objects are not thread-safe)."""
        repo: pygit2.Repository | None = getattr(self._local, "repo", None)
        if repo is None:
            repo = pygit2.Repository(self._path)
            self._local.repo = repo
        return repo

    def identity(self) -> tuple[str, str]:
        """Who this repository's commits are made by: conductor.ledger.identity's one rule
        (the user's, or Conductor's for what is not set, said once)."""
        return self.committer().pair

    def committer(self) -> Identity:
        """The identity of conductor.ledger.identity.who_commits, looked up once per Ledger;
        `git_env()` gives it to a git command that commits."""
        found = self._identity
        if found is None:
            found = self._identity = who_commits(self.git_dir)
        return found

    def signature(self, when: dt.datetime | None = None) -> pygit2.Signature:
        name, email = self.identity()
        stamp = int((when or self._clock()).timestamp())
        return pygit2.Signature(name, email, stamp, 0)

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        ref: str,
        event: Event,
        changes: tree.Changes | ChangeFn | None = None,
        *,
        fold: FoldFn | None = None,
    ) -> Event:
        """Record `event` as one commit on `ref`, with `changes` applied to the snapshot.

        `changes` may be a function of the current snapshot (None for a new log); it is called
        again if another writer moves the ref first. Returns the event as recorded (seq, time,
        commit and ref filled in). Secrets from the environment are redacted from the message
        and every record (conductor.secrets). `fold`, given the snapshot and the event as it is
        being recorded (seq and time set), returns more changes for the same commit (a fork's
        folded state, conductor.runner.records.fold_state).
        """
        recorded = self._append(ref, event, changes, fold)
        if recorded is None:
            raise LedgerError(f"nothing to record for {event.type.value} on {ref}")
        return recorded

    def append_once(self, ref: str, event: Event, changes: ChangeFn) -> Event | None:
        """Like append, but `changes` may return None to record nothing (idempotent writes)."""
        return self._append(ref, event, changes)

    def _append(
        self, ref: str, event: Event, changes: tree.Changes | ChangeFn | None, fold: FoldFn | None = None
    ) -> Event | None:
        failpoints.hit(f"before:{event.type.value}")
        recorded = self._write(ref, event, changes, fold)
        if recorded is not None:
            failpoints.hit(f"after:{event.type.value}")
        return recorded

    def _write(
        self, ref: str, event: Event, changes: tree.Changes | ChangeFn | None, fold: FoldFn | None
    ) -> Event | None:
        repo = self.repo
        for attempt in range(MAX_ATTEMPTS):
            current = repo.references.get(ref)
            parent: pygit2.Commit | None = None
            previous: Snapshot | None = None
            # An archived log (conductor archive) goes on from its archived tip, live again.
            start = current.resolve().target if current is not None else self._archived_target(ref)
            if start is not None:
                parent = self._commit(start)
                previous = self._snapshot(parent, ref)
            wanted = changes(previous) if callable(changes) else (changes or {})
            if wanted is None:  # the change function found nothing to do: record nothing
                return None
            stamp = message.format_time(self._clock())
            if previous is not None and previous.event.time and stamp < previous.event.time:
                stamp = previous.event.time  # keep every log ordered by time
            seq = previous.event.seq + 1 if previous is not None else 1
            recorded = replace(event, seq=seq, time=stamp, ref=ref, commit=None)
            if fold is not None:
                wanted = {**wanted, **fold(previous, recorded)}
            full = {path: self._redacted(content) for path, content in wanted.items()}
            if parent is None:  # later snapshots inherit the entry (readers checked it above)
                full[ledger_format.FORMAT_FILE] = ledger_format.encode()
            tree_id = tree.apply(repo, parent.tree if parent else None, full)
            # The commit time is the event's second: readers that merge logs rely on it.
            sig = self.signature(dt.datetime.fromisoformat(stamp))
            text = self.redactor.text(message.encode(recorded)) if self.redactor else message.encode(recorded)
            commit_id = repo.create_commit(None, sig, sig, text, tree_id, [parent.id] if parent else [])
            try:
                if current is None:
                    repo.references.create(ref, commit_id)
                else:
                    current.set_target(commit_id, f"conductor: {recorded.type.value}")
            except (pygit2.GitError, pygit2.AlreadyExistsError, OSError, ValueError) as exc:
                # Another writer moved the ref, or holds its lock: rebuild on the new tip.
                if isinstance(exc, OSError) and "lock" not in str(exc):
                    raise LedgerError(f"cannot update {ref}: {exc}") from exc
                time.sleep(random.uniform(0, min(0.05, 0.001 * (attempt + 1))))
                continue
            return replace(recorded, commit=str(commit_id))
        raise LedgerConflictError(
            f"could not update {ref}: {MAX_ATTEMPTS} attempts lost the race to other writers",
            hint="another Conductor process is writing the same log; retry when it is done",
        )

    @property
    def redactor(self) -> Redactor:
        """The redactor for what is written, made at the first write (recognizing credentials by
        format takes detect-secrets, which reads need not load) and again when the policy
        declares more secrets."""
        names = secrets.declared()
        made = self._redactor
        if made is None or made[0] != names:
            made = self._redactor = (names, Redactor.from_env())
        return made[1]

    def _redacted(self, content: bytes | str | tree.Entry | None) -> bytes | str | tree.Entry | None:
        if content is None or not self.redactor or isinstance(content, tuple):
            return content
        if isinstance(content, str):
            return self.redactor.text(content)
        return self.redactor.data(content)

    def set_branch(self, name: str, target: str, *, expect: str | None) -> None:
        """Move (or create) a branch by compare-and-swap: only if it still points at `expect`."""
        repo = self.repo
        current = repo.references.get(name)
        try:
            if current is None:
                if expect is not None:
                    raise LedgerConflictError(f"{name} disappeared while Conductor was using it")
                repo.references.create(name, pygit2.Oid(hex=target))
            else:
                if expect is None or str(current.target) != expect:
                    raise LedgerConflictError(
                        f"{name} was moved outside Conductor (expected {str(expect)[:12]})",
                        hint="do not commit to conductor/* branches while a plan runs on them",
                    )
                current.set_target(pygit2.Oid(hex=target), "conductor: step committed")
        except (pygit2.GitError, pygit2.AlreadyExistsError) as exc:
            raise LedgerConflictError(f"could not update {name}: {exc}") from exc

    # -- reading -------------------------------------------------------------------------

    def ref_target(self, name: str) -> str | None:
        """The commit a ref points at, or None if there is no such ref."""
        target = self._target(name)
        return str(target) if target is not None else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        return bool(self.repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))

    def commits_between(self, ancestor: str, tip: str) -> list[tuple[str, str]]:
        """The commits reachable from `tip` but not from `ancestor`, newest first: (id, subject)."""
        walker = self.repo.walk(pygit2.Oid(hex=tip), pygit2.enums.SortMode.TOPOLOGICAL)
        walker.hide(pygit2.Oid(hex=ancestor))
        return [(str(c.id), c.message.split("\n", 1)[0]) for c in walker]

    def commit_parent(self, commit: str) -> str | None:
        found = self._commit(commit)
        return str(found.parent_ids[0]) if found.parent_ids else None

    # -- code objects (see conductor.ledger.code) ---------------------------------------------

    def tree_of(self, commit: str) -> str:
        return str(self._commit(commit).tree_id)

    def build_tree(self, base_commit: str, files: Mapping[str, tree.Entry | None]) -> str:
        """The tree of `base_commit` with `files` replaced (None: deleted)."""
        return code.build(self.repo, self.tree_of(base_commit), files)

    def diff_trees(self, old_tree: str, new_tree: str, paths: list[str]) -> code.TreeDiff:
        """The difference at `paths` (directories expand): the cost follows the change."""
        return code.diff_paths(self.repo, old_tree, new_tree, paths)

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
        return code.commit(
            self.repo, tree_id, parent=parent, message=message, author=author, committer=committer, when=when
        )

    def object_bytes(self, oid: str) -> bytes:
        """The raw content of a git object (for a commit: the headers and message git hashes)."""
        _, data = self.repo.odb.read(pygit2.Oid(hex=oid))
        return bytes(data)

    def changed_paths(self, old_tree: str, new_tree: str) -> list[str]:
        """The paths whose entries differ between two trees (cost follows the difference)."""
        return code.changed_paths(self.repo, old_tree, new_tree)

    def entry(self, commit: str, path: str) -> tuple[str, tree.Entry | None]:
        return code.entry(self.repo, commit, path)

    def find(self, commit: str, path: str) -> code.Found:
        """What `path` is at `commit`, a blob's size from its header (nothing inflated)."""
        return code.find(self.repo, commit, path)

    def files_under(self, commit: str, path: str) -> list[str]:
        return code.files_under(self.repo, commit, path)

    def ref_names(self, *patterns: str) -> list[str]:
        """The live refs matching `patterns` (default: every state ref), sorted by name."""
        return [name for name, _ in self.ref_tips(*patterns)]

    def ref_tips(self, *patterns: str) -> list[tuple[str, str]]:
        """(name, target) of the live refs matching `patterns` (default: every state ref),
        sorted by name. A pattern is a full ref name or a prefix ending in `/`, as `git
        for-each-ref` takes them: one process that seeks each prefix in the packed refs, so the
        cost follows what is listed, not every ref."""
        args = [
            "for-each-ref",
            "--format=%(refname)%00%(objectname)",
            "--",
            *(patterns or [refs.STATE_PREFIX]),
        ]
        return [
            (name, target)
            for name, _, target in (row.partition("\0") for row in self._git(args).splitlines())
        ]

    def newest_first(self, tips: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """`tips` ((name, commit)) ordered by their commits' times, newest first, in one `git
        rev-list --no-walk=sorted`, which takes the times from the commit-graph when git keeps
        one (`git gc` writes it): cheaper than reading every commit. Read a tip's own time
        with commit_time when it matters."""
        by_commit: dict[str, list[str]] = {}
        for name, commit in tips:
            by_commit.setdefault(commit, []).append(name)
        if not by_commit:
            return []
        out = self._git(
            ["rev-list", "--no-walk=sorted", "--stdin"], stdin="".join(f"{c}\n" for c in by_commit)
        )
        return [(name, commit) for commit in out.split() for name in sorted(by_commit.get(commit, []))]

    def commit_time(self, commit: str) -> int:
        """A commit's committer time in epoch seconds (an event's second, for a ledger commit)."""
        return int(self._commit(commit).commit_time)

    def _git(self, args: list[str], *, stdin: str | None = None) -> str:
        proc = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args],
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise LedgerError(f"git {args[0]} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
        return proc.stdout.decode("utf-8", "replace")

    def plans(self) -> list[str]:
        """Every plan: those with a live log and those archived (`conductor archive`)."""
        live = {r[len(refs.PLANS_PREFIX) :] for r in self.ref_names(refs.PLANS_PREFIX)}
        return sorted(live | set(self.archived_plans()))

    def forks(self, plan: str) -> list[str]:
        prefix = refs.fork_log(plan, "")
        live = {r[len(prefix) :] for r in self.ref_names(prefix)}
        return sorted(live | set(self.archived_forks(plan)))

    # -- the archive (conductor archive; docs/storage.md "Archive") -----------------------------
    # refs/conductor/archive points at a commit whose parents keep the archived logs' tips
    # reachable and whose tree indexes them: plans/<plan>/plan and plans/<plan>/forks/<fork>
    # each hold a tip's id. A live ref always wins; a log without one is read from here.

    def commit_records(
        self, base: str | None, changes: tree.Changes, *, parents: list[str], message: str
    ) -> str:
        """A commit (no ref moves) whose tree is `base`'s (a commit; None: a new record tree, with
        the format entry) plus `changes`, with `parents`: for an index such as the archive's."""
        repo = self.repo
        full = dict(changes)
        if base is None:
            full[ledger_format.FORMAT_FILE] = ledger_format.encode()
        tree_id = tree.apply(repo, self._commit(base).tree if base else None, full)
        sig = self.signature()
        return str(repo.create_commit(None, sig, sig, message, tree_id, [pygit2.Oid(hex=p) for p in parents]))

    def archive_commit(self) -> str | None:
        """The archive's current commit, or None before anything was archived."""
        found = self.repo.references.get(refs.ARCHIVE)
        return str(found.resolve().target) if found is not None else None

    def archived_plans(self) -> list[str]:
        tree_ = self._archive_tree()
        return tree.listdir(self.repo, tree_, refs.ARCHIVE_PLANS) if tree_ is not None else []

    def archived_forks(self, plan: str) -> list[str]:
        tree_ = self._archive_tree()
        if tree_ is None:
            return []
        return tree.listdir(self.repo, tree_, refs.archive_entry(plan, "").rstrip("/"))

    def archived_record(self, path: str) -> bytes | None:
        """A file of the archive's tree (the index, or what `conductor archive` keeps beside it)."""
        tree_ = self._archive_tree()
        return tree.read(self.repo, tree_, path) if tree_ is not None else None

    def _archive_tree(self) -> pygit2.Tree | None:
        """The archive's tree, looked up once per thread and again only when the ref moves."""
        found = self.repo.references.get(refs.ARCHIVE)
        if found is None:
            return None
        target = str(found.resolve().target)
        cached: tuple[str, pygit2.Tree] | None = getattr(self._local, "archive", None)
        if cached is None or cached[0] != target:
            cached = (target, self._commit(target).tree)
            self._local.archive = cached
        return cached[1]

    def _archived_target(self, ref: str) -> pygit2.Oid | None:
        """The archived tip of a plan or fork log, or None if it is not archived."""
        parsed = refs.parse(ref)
        if parsed is None or parsed.plan is None:
            return None
        entry = refs.archive_entry(parsed.plan, parsed.fork)
        raw = self.archived_record(entry)
        if not raw:
            return None
        try:
            oid = pygit2.Oid(hex=raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            oid = None
        if oid is None or not isinstance(self.repo.get(oid), pygit2.Commit):
            raise LedgerError(
                f"{refs.ARCHIVE}:{entry} names no commit here, so {ref} cannot be read from the archive",
                hint="fetch the archive again from where it was made:"
                " git fetch REMOTE 'refs/conductor/*:refs/conductor/*'",
            )
        return oid

    def tip(self, ref: str) -> Snapshot | None:
        """The latest snapshot of a log, or None if the log does not exist."""
        target = self._target(ref)
        if target is None:
            return None
        return self._snapshot(self._commit(target), ref)

    def at(self, commit: str, *, ref: str | None = None) -> Snapshot:
        """The snapshot recorded by one event commit."""
        try:
            obj = self.repo.revparse_single(commit)
        except (KeyError, ValueError, pygit2.GitError):
            raise LedgerError(f"no ledger commit '{commit}'") from None
        if obj.type != ObjectType.COMMIT:
            raise LedgerError(f"'{commit}' is not a commit")
        assert isinstance(obj, pygit2.Commit)
        return self._snapshot(obj, ref)

    def log(self, ref: str, *, newest_first: bool = True) -> Iterator[Event]:
        """The events of one log. Newest-first streams; oldest-first holds only commit ids."""
        target = self._target(ref)
        if target is None:
            return iter(())
        self.tip(ref)  # refuses a log whose format this Conductor cannot read
        if newest_first:
            return self._walk(target, ref)
        return self._walk_oldest_first(target, ref)

    def events(
        self,
        *,
        plan: str | None = None,
        fork: str | None = None,
        types: Iterable[EventType] | None = None,
        newest_first: bool = True,
        include_memory: bool = False,
        limit: int | None = None,
        logs: Mapping[str, str] | None = None,
    ) -> Iterator[Event]:
        """Events across all matching logs (or `logs`, as event_logs lists them), merged in time
        order. With `limit` (newest first, no type filter) only as many as that are read: see
        `_newest`."""
        wanted = set(types) if types else None
        selected = (
            self.event_logs(plan=plan, fork=fork, include_memory=include_memory) if logs is None else logs
        )
        if newest_first and limit is not None and wanted is None:
            return itertools.islice(self._checked(self._newest(self.newest_first(selected.items()))), limit)
        merged = self._checked(scan(self.git_dir, selected, newest_first=newest_first))
        if wanted is not None:
            merged = (event for event in merged if event.type in wanted)
        return itertools.islice(merged, limit) if limit is not None else merged

    def _newest(self, waiting: list[tuple[str, str]]) -> Iterator[Event]:
        """The events of the logs `waiting` ((name, start), the newest start first), newest
        first, reading only what is asked for: a log is opened only once it may hold an event
        newer than the newest one open (its start's commit time is its last event's second),
        so the first N events cost N commits and the logs they come from, however many."""
        heap: list[_Head] = []
        opened = 0
        while True:
            while opened < len(waiting) and (
                not heap or self.commit_time(waiting[opened][1]) + 1 > -heap[0][0]
            ):
                name, start = waiting[opened]
                opened += 1
                walker = self._walk(pygit2.Oid(hex=start), name)
                self._push(heap, walker, opened)
            if not heap:
                return
            _, _, _, order, event, walker = heapq.heappop(heap)
            yield event
            self._push(heap, walker, order)

    @staticmethod
    def _push(heap: list[_Head], walker: Iterator[Event], order: int) -> None:
        event = next(walker, None)
        if event is not None:
            when = (
                dt.datetime.fromisoformat(event.time.replace("Z", "+00:00")).timestamp()
                if event.time
                else 0.0
            )
            heapq.heappush(heap, (-when, _Backwards(event.ref or ""), -event.seq, order, event, walker))

    def log_names(
        self, *, plan: str | None = None, fork: str | None = None, include_memory: bool = False
    ) -> list[str]:
        """The logs `events` reads: live ones, and with `plan` that plan's archived ones."""
        return list(self.event_logs(plan=plan, fork=fork, include_memory=include_memory))

    def event_logs(
        self, *, plan: str | None = None, fork: str | None = None, include_memory: bool = False
    ) -> dict[str, str]:
        """log_names, each with the commit it starts at: its live ref's, or its archived tip."""
        if plan is None:  # the logs only: not the work queue nor the archive
            patterns = [refs.PLANS_PREFIX, refs.FORKS_PREFIX, *([refs.MEMORY] if include_memory else [])]
        else:
            patterns = [refs.plan_log(plan), refs.fork_log(plan, "")]
        starts = dict(self.ref_tips(*patterns))
        if plan is not None:
            archived = [refs.plan_log(plan), *(refs.fork_log(plan, f) for f in self.archived_forks(plan))]
            for name in archived:
                target = self._archived_target(name) if name not in starts else None
                if target is not None:
                    starts[name] = str(target)
        selected: dict[str, str] = {}
        for name in sorted(starts):
            parsed = refs.parse(name)
            if parsed is None or (parsed.kind == "memory" and not include_memory):
                continue
            if (plan is not None and parsed.plan != plan) or (fork is not None and parsed.fork != fork):
                continue
            selected[name] = starts[name]
        return selected

    def _checked(self, events: Iterator[Event]) -> Iterator[Event]:
        """The events, each log's format checked (its tip read) when its first event comes: a
        reader that stops early (--limit) reads only the logs it printed from."""
        seen: set[str] = set()
        for event in events:
            if event.ref is not None and event.ref not in seen:
                seen.add(event.ref)
                self.tip(event.ref)  # refuses a log whose format this Conductor cannot read
            yield event

    # -- internals -----------------------------------------------------------------------

    def _target(self, ref: str) -> pygit2.Oid | None:
        found = self.repo.references.get(ref)
        if found is None:
            return self._archived_target(ref)
        target = found.resolve().target
        assert isinstance(target, pygit2.Oid)
        return target

    def _commit(self, oid: pygit2.Oid | str) -> pygit2.Commit:
        obj = self.repo.get(oid)
        if not isinstance(obj, pygit2.Commit):
            raise LedgerError(f"{oid} is not a commit")
        return obj

    def _snapshot(self, commit: pygit2.Commit, ref: str | None) -> Snapshot:
        where = f"ledger commit {str(commit.id)[:12]}" + (f" on {ref}" if ref else "")
        ledger_format.check(tree.read(self.repo, commit.tree, ledger_format.FORMAT_FILE), where=where)
        event = message.decode(commit.message, commit=str(commit.id), ref=ref)
        return Snapshot(self.repo, commit, event)

    # Parent links are followed with Commit.parents: looking each commit up by id through
    # Repository.__getitem__ is an order of magnitude slower on long logs.

    def _walk(self, start: pygit2.Oid, ref: str) -> Iterator[Event]:
        commit = self._commit(start)
        decode = message.decode
        while True:
            yield decode(commit.message, commit=str(commit.id), ref=ref)
            parents = commit.parents
            if not parents:
                return
            commit = parents[0]

    def _walk_oldest_first(self, start: pygit2.Oid, ref: str) -> Iterator[Event]:
        repo = self.repo
        ids: list[pygit2.Oid] = []
        commit = self._commit(start)
        while True:
            ids.append(commit.id)
            parents = commit.parents
            if not parents:
                break
            commit = parents[0]
        decode = message.decode
        for oid in reversed(ids):
            found = repo.get(oid)
            assert isinstance(found, pygit2.Commit)
            yield decode(found.message, commit=str(oid), ref=ref)


class _Backwards(str):
    """A string that orders backwards: newest-first merges break ties by ref name descending,
    as `conductor.ledger.scan` orders events of the same time."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)


_Head = tuple[float, _Backwards, int, int, Event, Iterator[Event]]
"""A log's next event in a newest-first merge: (-time, ref, -seq, log order, event, walker)."""
