"""The Ledger: append events to state refs by compare-and-swap, and read them back lazily.

A log is a ref whose commits form a single chain, one commit per event. Each commit's
message is the event (conductor.ledger.message) and its tree is the complete record
snapshot after the event. Appending builds the new commit on the current tip and moves the
ref only if the tip has not moved meanwhile; on a lost race it rebuilds and tries again.

The Ledger is built on a Repo (conductor.ledger.repo: `GitRepo` on disk, `MemoryRepo` in
memory) and its Archive (conductor.ledger.archive); the merged event stream is
conductor.ledger.stream. `Ledger(path)` is the repository at `path`; `Ledger.in_memory()` (or
`Ledger(repo=MemoryRepo(...))`) one with no git and no subprocess.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from conductor import failpoints, secrets
from conductor.errors import LedgerConflictError, LedgerError
from conductor.ledger import format as ledger_format
from conductor.ledger import message, refs, stream
from conductor.ledger.archive import Archive
from conductor.ledger.changes import Changes, Entry
from conductor.ledger.identity import Identity
from conductor.ledger.queries import RepoQueries
from conductor.ledger.repo import Repo
from conductor.ledger.snapshot import Snapshot
from conductor.models.event import Event, EventType
from conductor.secrets import Redactor

if TYPE_CHECKING:
    import pygit2

Clock = Callable[[], dt.datetime]
ChangeFn = Callable[[Snapshot | None], Changes | None]
FoldFn = Callable[[Snapshot | None, Event], Changes]

MAX_ATTEMPTS = 200


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Ledger(RepoQueries):
    """Conductor's state in one repository. Safe to share between threads."""

    def __init__(
        self, path: str | os.PathLike[str] = ".", *, clock: Clock = utc_now, repo: Repo | None = None
    ) -> None:
        if repo is None:
            from conductor.ledger.gitrepo import GitRepo

            repo = GitRepo(path)
        self.backend: Repo = repo
        self.archive = Archive(repo)
        self._clock = clock
        self._redactor: tuple[frozenset[str], Redactor] | None = None

    @classmethod
    def in_memory(
        cls, *, clock: Clock = utc_now, identity: Identity | None = None, git_dir: Path | None = None
    ) -> Ledger:
        """A Ledger on a MemoryRepo: no git, no subprocess. `git_dir`, if given, is only where
        the runner keeps its private state (locks); nothing of the ledger's is written there."""
        from conductor.ledger.memrepo import MemoryRepo

        return cls(clock=clock, repo=MemoryRepo(identity=identity, git_dir=git_dir))

    # -- the repository ------------------------------------------------------------------

    @property
    def git_dir(self) -> Path:
        """The git directory, where the runner keeps its private state (LedgerError for a
        Ledger whose Repo has none on disk)."""
        found = self.backend.git_dir
        if found is None:
            raise LedgerError("this ledger is in memory: it has no git directory")
        return found

    @property
    def repo(self) -> pygit2.Repository:
        """This thread's pygit2 handle on the repository, for tests and tools that write raw
        git (LedgerError unless the Repo is a GitRepo)."""
        from conductor.ledger.gitrepo import GitRepo

        if not isinstance(self.backend, GitRepo):
            raise LedgerError("this ledger is not on a git repository")
        return self.backend.handle

    def identity(self) -> tuple[str, str]:
        """Who this repository's commits are made by: conductor.ledger.identity's one rule
        (the user's, or Conductor's for what is not set, said once)."""
        return self.committer().pair

    def committer(self) -> Identity:
        """The identity of conductor.ledger.identity.who_commits, looked up once per Ledger;
        `git_env()` gives it to a git command that commits."""
        return self.backend.committer()

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        ref: str,
        event: Event,
        changes: Changes | ChangeFn | None = None,
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
        self, ref: str, event: Event, changes: Changes | ChangeFn | None, fold: FoldFn | None = None
    ) -> Event | None:
        failpoints.hit(f"before:{event.type.value}")
        recorded = self._write(ref, event, changes, fold)
        if recorded is not None:
            failpoints.hit(f"after:{event.type.value}")
        return recorded

    def _write(
        self, ref: str, event: Event, changes: Changes | ChangeFn | None, fold: FoldFn | None
    ) -> Event | None:
        backend = self.backend
        for attempt in range(MAX_ATTEMPTS):
            current = backend.ref(ref)
            # An archived log (conductor archive) goes on from its archived tip, live again.
            start = current if current is not None else self.archive.tip(ref)
            previous = self._snapshot(start, ref) if start is not None else None
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
            if previous is None:  # later snapshots inherit the entry (readers checked it above)
                full[ledger_format.FORMAT_FILE] = ledger_format.encode()
            tree_id = backend.apply(previous.tree_id if previous else None, full)
            text = message.encode(recorded)
            # The commit time is the event's second: readers that merge logs rely on it.
            commit_id = self._commit(
                tree_id,
                [start] if start else [],
                self.redactor.text(text) if self.redactor else text,
                when=int(dt.datetime.fromisoformat(stamp).timestamp()),
            )
            if backend.set_ref(ref, commit_id, expect=current, message=f"conductor: {recorded.type.value}"):
                return replace(recorded, commit=commit_id)
            # Another writer moved the ref, or holds its lock: rebuild on the new tip.
            time.sleep(random.uniform(0, min(0.05, 0.001 * (attempt + 1))))
        raise LedgerConflictError(
            f"could not update {ref}: {MAX_ATTEMPTS} attempts lost the race to other writers",
            hint="another Conductor process is writing the same log; retry when it is done",
        )

    def _commit(self, tree_id: str, parents: list[str], text: str, *, when: int | None = None) -> str:
        """A commit of the ledger's own, by the committer as author and committer."""
        who = self.identity()
        when = int(self._clock().timestamp()) if when is None else when
        return self.backend.create_commit(
            tree_id, parents=parents, message=text, author=who, committer=who, when=when
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

    def _redacted(self, content: bytes | str | Entry | None) -> bytes | str | Entry | None:
        if content is None or not self.redactor or isinstance(content, tuple):
            return content
        if isinstance(content, str):
            return self.redactor.text(content)
        return self.redactor.data(content)

    def commit_records(self, base: str | None, changes: Changes, *, parents: list[str], message: str) -> str:
        """A commit (no ref moves) whose tree is `base`'s (a commit; None: a new record tree, with
        the format entry) plus `changes`, with `parents`: for an index such as the archive's."""
        full = dict(changes)
        if base is None:
            full[ledger_format.FORMAT_FILE] = ledger_format.encode()
        base_tree = self.backend.read_commit(base).tree if base else None
        return self._commit(self.backend.apply(base_tree, full), parents, message)

    def set_branch(self, name: str, target: str, *, expect: str | None) -> None:
        """Move (or create) a branch by compare-and-swap: only if it still points at `expect`."""
        current = self.backend.ref(name)
        if current is None and expect is not None:
            raise LedgerConflictError(f"{name} disappeared while Conductor was using it")
        if current is not None and current != expect:
            raise LedgerConflictError(
                f"{name} was moved outside Conductor (expected {str(expect)[:12]})",
                hint="do not commit to conductor/* branches while a plan runs on them",
            )
        if not self.backend.set_ref(name, target, expect=current, message="conductor: step committed"):
            raise LedgerConflictError(f"could not update {name}: it moved, or another writer holds it")

    # -- refs ----------------------------------------------------------------------------

    def points_at(self, name: str) -> str | None:
        """The commit the ref `name` points at, or None if there is no such ref: the ref only
        (for a log that may be archived, `log_end`)."""
        return self.backend.ref(name)

    def log_end(self, ref: str) -> str | None:
        """The commit a plan or fork log ends at: its live ref's, else its archived tip
        (conductor archive), else None. For any other ref, what `points_at` says."""
        found = self.backend.ref(ref)
        return found if found is not None else self.archive.tip(ref)

    # -- plans and the archive ------------------------------------------------------------

    def plans(self) -> list[str]:
        """Every plan: those with a live log and those archived (`conductor archive`)."""
        live = {r[len(refs.PLANS_PREFIX) :] for r in self.ref_names(refs.PLANS_PREFIX)}
        return sorted(live | set(self.archive.plans()))

    def forks(self, plan: str) -> list[str]:
        prefix = refs.fork_log(plan, "")
        live = {r[len(prefix) :] for r in self.ref_names(prefix)}
        return sorted(live | set(self.archive.forks(plan)))

    def plans_and_forks(self, plan: str | None = None) -> dict[str, list[str]]:
        """Every plan (or only `plan`), as `plans` lists them, with its forks, as `forks` lists
        them: from one listing of the fork logs, where asking `forks` for each plan lists them
        once a plan."""
        if plan is not None:
            return {plan: self.forks(plan)}
        live = _live_forks(self.ref_names(refs.FORKS_PREFIX), self.plans())
        return {plan: sorted(forks | set(self.archive.forks(plan))) for plan, forks in live.items()}

    def archive_commit(self) -> str | None:
        """The archive's current commit, or None before anything was archived."""
        return self.archive.commit()

    def archived_plans(self) -> list[str]:
        return self.archive.plans()

    def archived_forks(self, plan: str) -> list[str]:
        return self.archive.forks(plan)

    def archived_record(self, path: str) -> bytes | None:
        """A file of the archive's tree (the index, or what `conductor archive` keeps beside it)."""
        return self.archive.record(path)

    # -- reading -------------------------------------------------------------------------

    def tip(self, ref: str) -> Snapshot | None:
        """The latest snapshot of a log, or None if the log does not exist."""
        end = self.log_end(ref)
        return self._snapshot(end, ref) if end is not None else None

    def at(self, commit: str, *, ref: str | None = None) -> Snapshot:
        """The snapshot recorded by one event commit."""
        found = self.backend.lookup(commit)
        if found is None:
            raise LedgerError(f"no ledger commit '{commit}'")
        if found[1] != "commit":
            raise LedgerError(f"'{commit}' is not a commit")
        return self._snapshot(found[0], ref)

    def log(self, ref: str, *, newest_first: bool = True) -> Iterator[Event]:
        """The events of one log. Newest-first streams; oldest-first holds only commit ids."""
        end = self.log_end(ref)
        if end is None:
            return iter(())
        self._snapshot(end, ref)  # refuses a log whose format this Conductor cannot read
        if newest_first:
            return stream.walk(self.backend, end, ref)
        return self._oldest_first(end, ref)

    def _oldest_first(self, end: str, ref: str) -> Iterator[Event]:
        ids = [commit for commit, _ in self.backend.first_parents(end)]
        for oid in reversed(ids):
            yield message.decode(self.backend.read_commit(oid).message, commit=oid, ref=ref)

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
        order (conductor.ledger.stream). With `limit` (newest first, no type filter) only as many
        as that are read: see `stream.newest`."""
        wanted = set(types) if types else None
        selected = (
            self.event_logs(plan=plan, fork=fork, include_memory=include_memory) if logs is None else logs
        )
        if newest_first and limit is not None and wanted is None:
            return itertools.islice(stream.checked(stream.newest(self.backend, selected), self.tip), limit)
        merged = stream.checked(stream.merged(self.backend, selected, newest_first=newest_first), self.tip)
        if wanted is not None:
            merged = (event for event in merged if event.type in wanted)
        return itertools.islice(merged, limit) if limit is not None else merged

    def event_logs(
        self, *, plan: str | None = None, fork: str | None = None, include_memory: bool = False
    ) -> dict[str, str]:
        """The logs `events` reads, each with the commit it starts at: its live ref's, or its
        archived tip (conductor.ledger.stream.select)."""
        return stream.select(self.backend, self.archive, plan=plan, fork=fork, include_memory=include_memory)

    def _snapshot(self, commit: str, ref: str | None) -> Snapshot:
        found = self.backend.read_commit(commit)
        records = self.backend.tree_view(found.tree)
        where = f"ledger commit {found.id[:12]}" + (f" on {ref}" if ref else "")
        ledger_format.check(records.read(ledger_format.FORMAT_FILE), where=where)
        return Snapshot(records, found, message.decode(found.message, commit=found.id, ref=ref))


def _live_forks(fork_logs: list[str], plans: list[str]) -> dict[str, set[str]]:
    """Each plan's forks among the fork logs' names, as `Ledger.forks` finds them: what is under
    refs/conductor/forks/PLAN/."""
    rests = [name[len(refs.FORKS_PREFIX) :] for name in fork_logs]
    under: dict[str, set[str]] = {}
    for rest in rests:
        plan, slash, fork = rest.partition("/")
        if slash:
            under.setdefault(plan, set()).add(fork)
    found: dict[str, set[str]] = {}
    for plan in plans:
        if "/" in plan:  # no id Conductor gives, but `forks` would list what is under it
            found[plan] = {rest[len(plan) + 1 :] for rest in rests if rest.startswith(f"{plan}/")}
        else:
            found[plan] = under.get(plan, set())
    return found
