"""`conductor archive [--older-than AGE] [--dry-run]`: fold finished plans' logs into
refs/conductor/archive, so the live refs follow running work (docs/storage.md, Archive)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.commands.output.plans import when
from conductor.errors import ConductorError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.report import Report, plural
from conductor.runner.plan.archive import DEFAULT_AGE, Archived, archive, parse_age

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class ArchiveReport(Report):
    done: Archived

    def to_json(self) -> c.Archive:
        done = self.done
        return {
            "dry_run": done.dry_run,
            "older_than": done.older_than,
            "archived": [
                {
                    "plan": plan.plan,
                    "state": cast("c.PlanState", plan.state),
                    "finished_at": plan.finished,
                    "forks": plan.forks,
                }
                for plan in done.archived
            ],
            "kept": done.kept,
            "refs_removed": done.refs_removed,
            "archive": refs.ARCHIVE,
            "commit": done.commit,
        }

    def render(self) -> str:
        done = self.done
        count = plural(len(done.archived), "finished plan")
        if not done.archived:
            nothing = "Nothing would be archived" if done.dry_run else "Nothing to archive"
            head = f"{nothing}: no plan finished {done.older_than} ago or more is live."
        elif done.dry_run:
            head = (
                f"Would archive {count} into {refs.ARCHIVE} ({plural(done.refs_removed, 'live ref')} fewer):"
            )
        else:
            head = (
                f"Archived {count} into {refs.ARCHIVE} ({str(done.commit)[:12]});"
                f" {plural(done.refs_removed, 'live ref')} removed:"
            )
        lines = [head]
        lines += [
            f"  {plan.plan}  [{plan.state}]  finished {when(plan.finished)[:16]}" for plan in done.archived
        ]
        if done.kept:
            lines.append("Kept live: " + ", ".join(f"{n} {why}" for why, n in done.kept.items()) + ".")
        if done.archived:
            lines += [
                "Their branches conductor/<plan>/<fork> are yours and stay as they are.",
                "status --all, explain, verify, checkout, events --plan, compare and the rest"
                " still read archived plans.",
                f"Share the archive: git push origin {refs.SHARED}"
                " (the refs removed here stay on the remote until pruned: docs/storage.md, Archive).",
            ]
        return "\n".join(lines)


def run(*, older_than: str = DEFAULT_AGE, dry_run: bool = False) -> ArchiveReport:
    return ArchiveReport(archive(Ledger(find_root()), older_than=older_than, dry_run=dry_run))


def age_problem(text: str) -> str | None:
    """Why `text` is not an age --older-than takes (for the command line), or None."""
    try:
        parse_age(text)
    except ConductorError as exc:
        return f"{exc.message}: {exc.hint}"
    return None
