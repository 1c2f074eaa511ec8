"""`conductor archive [--older-than AGE] [--dry-run]`: fold finished plans' logs into
refs/conductor/archive, so the live refs follow running work (docs/storage.md, Archive)."""

from __future__ import annotations

from conductor.errors import ConductorError
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.runner.plan.archive import DEFAULT_AGE, ArchiveReport, archive, parse_age


def run(*, older_than: str = DEFAULT_AGE, dry_run: bool = False) -> ArchiveReport:
    return archive(Ledger(find_root()), older_than=older_than, dry_run=dry_run)


def age_problem(text: str) -> str | None:
    """Why `text` is not an age --older-than takes (for the command line), or None."""
    try:
        parse_age(text)
    except ConductorError as exc:
        return f"{exc.message}: {exc.hint}"
    return None
