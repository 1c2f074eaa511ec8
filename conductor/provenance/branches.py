"""Where a fork's attested commits are, for `conductor verify`: its branch or — once `conductor
adopt` adopted the fork or pruned its branch, and the branch is gone — the ref adopt kept the
branch's tip under (`refs/conductor/kept/<plan>/<fork>`, docs/storage.md), which travels with
the ledger (`git fetch origin 'refs/conductor/*:refs/conductor/*'`).

What adopt did is read from its events: `fork.pruned` in the fork log, `plan.adopted` in the
plan log, each naming the tip it kept. A branch that is gone with neither was deleted by
hand: nothing records why. A kept ref that no longer points at the tip its event recorded was
moved. Both are failures; so is whatever the branch checks find (verifier.branch_tip).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conductor.errors import LedgerError
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType

BRANCH, PRUNED, ADOPTED, MISSING = "branch", "pruned", "adopted", "missing"


@dataclass(frozen=True)
class ForkCode:
    """The ref holding a fork's commits (`name`, as the report names it) and its tip; `how` it
    is there (BRANCH, PRUNED, ADOPTED; MISSING with `tip` None) and what adopt recorded, or
    what is wrong (`story`)."""

    name: str
    tip: str | None
    how: str
    story: str = ""


def locate(
    ledger: Ledger, plan: str, fork: str, events: Iterable[Event] | None = None, *, tell: bool = True
) -> ForkCode:
    """Where the commits of `fork` are; `events` is its log (oldest first) when the caller has
    read it already. With `tell`, a branch that is there says whether it was adopted too (the
    plan log is read only for that, or when the branch is gone)."""
    branch = refs.short_branch(plan, fork)
    tip = ledger.points_at(refs.code_branch(plan, fork))
    if tip is not None:
        adopted = _adoption(ledger, plan, fork) if tell else None
        return ForkCode(branch, tip, BRANCH, _adopted_story(adopted) if adopted is not None else "")
    adopted = _adoption(ledger, plan, fork)
    pruned = _prune(ledger, plan, fork, events)
    latest = max(
        (e for e in (pruned, adopted) if e is not None and _kept_tip(e) is not None),
        key=lambda e: e.time or "",
        default=None,
    )
    if latest is None:
        return ForkCode(
            branch,
            None,
            MISSING,
            f"{branch} does not exist, and no `conductor adopt` recorded pruning or adopting it"
            " (a branch deleted by hand is not attested; fetch it, or restore it)",
        )
    how = PRUNED if latest is pruned else ADOPTED
    story = _pruned_story(latest) if how == PRUNED else _adopted_story(latest)
    kept, recorded = refs.kept(plan, fork), str(_kept_tip(latest))
    found = ledger.points_at(kept)
    if found != recorded:
        where = "is missing" if found is None else f"points at {found[:12]}, not at {recorded[:12]}"
        hint = " (fetch refs/conductor/*)" if found is None else ""
        return ForkCode(branch, None, MISSING, f"{story}, but {kept} {where}{hint}")
    return ForkCode(kept, recorded, how, story)


def contains(ledger: Ledger, commit: str, tip: str) -> bool:
    """`tip` is `commit` or descends from it; False when either is not a commit here (a record
    may name anything: an id that is not one is a failed check, not a crash)."""
    try:
        ledger.tree_of(commit), ledger.tree_of(tip)  # both commits here (LedgerError if not)
        return ledger.is_ancestor(commit, tip)
    except (LedgerError, KeyError, ValueError):
        return False


def _prune(ledger: Ledger, plan: str, fork: str, events: Iterable[Event] | None) -> Event | None:
    """The fork log's last `fork.pruned` event."""
    if events is None:
        events = ledger.log(refs.fork_log(plan, fork), newest_first=False)
    found = None
    for event in events:
        if event.type is EventType.FORK_PRUNED:
            found = event
    return found


def _adoption(ledger: Ledger, plan: str, fork: str) -> Event | None:
    """The plan log's last `plan.adopted` event that adopted `fork`."""
    for event in ledger.log(refs.plan_log(plan)):  # newest first: stops at the last one
        if event.type is EventType.PLAN_ADOPTED and event.data.get("fork") == fork:
            return event
    return None


def _kept_tip(event: Event) -> str | None:
    tip = event.data.get("tip")
    return tip if isinstance(tip, str) and tip else None


def _pruned_story(event: Event) -> str:
    adopted = event.data.get("adopted")
    why = f" when fork {adopted} was adopted" if isinstance(adopted, str) else ""
    return f"pruned by `conductor adopt --prune`{why}"


def _adopted_story(event: Event) -> str:
    into, strategy, commit = (event.data.get(key) for key in ("into", "strategy", "commit"))
    return f"adopted into {into} ({strategy}, {str(commit)[:12]})"
