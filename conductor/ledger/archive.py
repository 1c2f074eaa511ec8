"""The Archive: finished plans' logs, folded by `conductor archive` into one ref.

refs/conductor/archive points at a commit whose parents keep the archived logs' tips reachable
and whose tree indexes them: `plans/<plan>/plan` and `plans/<plan>/forks/<fork>` each hold a
tip's id, `plans/<plan>/status.json` the plan as status showed it (docs/storage.md "Archive").
This reads it; conductor.runner's archive writes it. A live ref always wins over what is here:
the Ledger asks the Archive only for a log that has none.
"""

from __future__ import annotations

import threading

from conductor.errors import LedgerError
from conductor.ledger import refs
from conductor.ledger.repo import Repo, TreeView


class Archive:
    """The archived plans and logs of one Repo. Safe to share between threads."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self._local = threading.local()

    def commit(self) -> str | None:
        """The archive's current commit, or None before anything was archived."""
        return self._repo.ref(refs.ARCHIVE)

    def plans(self) -> list[str]:
        """The archived plans, sorted."""
        index = self._index()
        return index.listdir(refs.ARCHIVE_PLANS) if index is not None else []

    def forks(self, plan: str) -> list[str]:
        """The archived forks of `plan`, sorted."""
        index = self._index()
        return index.listdir(refs.archive_entry(plan, "").rstrip("/")) if index is not None else []

    def record(self, path: str) -> bytes | None:
        """A file of the archive's tree (the index, or what `conductor archive` keeps beside it)."""
        index = self._index()
        return index.read(path) if index is not None else None

    def tip(self, ref: str) -> str | None:
        """The archived tip of a plan or fork log, or None if it is not archived (or `ref` is no
        plan or fork log). LedgerError when the index names a commit this repository lacks."""
        parsed = refs.parse(ref)
        if parsed is None or parsed.plan is None:
            return None
        entry = refs.archive_entry(parsed.plan, parsed.fork)
        raw = self.record(entry)
        if not raw:
            return None
        try:
            oid = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            oid = ""
        found = self._repo.lookup(oid) if len(oid) == 40 and _hex(oid) else None
        if found is None or found[1] != "commit":
            raise LedgerError(
                f"{refs.ARCHIVE}:{entry} names no commit here, so {ref} cannot be read from the archive",
                hint=f"fetch the archive again from where it was made: git fetch REMOTE {refs.SHARED}",
            )
        return found[0]

    def _index(self) -> TreeView | None:
        """The archive's tree, looked up once per thread and again only when the ref moves."""
        target = self.commit()
        if target is None:
            return None
        cached: tuple[str, TreeView] | None = getattr(self._local, "index", None)
        if cached is None or cached[0] != target:
            cached = (target, self._repo.tree_view(self._repo.read_commit(target).tree))
            self._local.index = cached
        return cached[1]


def _hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text.lower())
