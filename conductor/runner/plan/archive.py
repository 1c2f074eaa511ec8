"""Folding finished plans' logs into one archive ref (`conductor archive`, docs/storage.md
"Archive"), so the live refs follow running work, not history.

`refs/conductor/archive` points at a commit whose tree indexes the archived logs
(`plans/<plan>/plan` and `plans/<plan>/forks/<fork>` hold their tips' ids, `status.json`
beside them the plan as `conductor status` showed it) and whose parents are the previous
archive commit and the archived tips, so every archived commit stays reachable: through
`git gc`, and through fetch and push of the one ref. The archive ref moves and the live refs
go in one `git update-ref --stdin` transaction, each by compare-and-swap: a plan that moved
meanwhile makes the run change nothing. Reads prefer a live ref and fall back to the index
(Ledger.log_end), so every command keeps working on an archived plan.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.ledger import refs, tree
from conductor.ledger.store import Ledger
from conductor.report import plural
from conductor.runner.logs import planlog
from conductor.runner.logs.plans import FINISHED
from conductor.runner.views.status import archived_summary_path, plan_view

PLANS_PER_COMMIT = 250  # each archive commit has at most this many plans' tips as parents
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
ZERO = "0" * 40
DEFAULT_AGE = "7d"


def parse_age(text: str) -> dt.timedelta:
    """`7d`, `12h`, `30m`, `45s`, `2w`, or `0` (no minimum age)."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", text)
    if found is None or (not found.group(2) and found.group(1).strip("0")):
        raise ConductorError(
            f"cannot read the age '{text}'",
            hint="give a number and a unit: 30m, 12h, 7d, 2w (or 0 for every finished plan)",
        )
    return dt.timedelta(seconds=int(found.group(1)) * UNITS.get(found.group(2) or "s", 1))


@dataclass
class ArchivedPlan:
    plan: str
    state: str
    finished: str  # the time of the plan log's last event
    forks: list[str] = field(default_factory=list)


@dataclass
class Archived:
    """What `archive` did (with `dry_run`: would do)."""

    older_than: str
    dry_run: bool
    archived: list[ArchivedPlan] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # why plans stay live -> how many
    refs_removed: int = 0
    commit: str | None = None


def archive(
    ledger: Ledger, *, older_than: str = DEFAULT_AGE, dry_run: bool = False, now: dt.datetime | None = None
) -> Archived:
    """Archive every finished plan whose last event is at least `older_than` old."""
    age = parse_age(older_than)
    cutoff = (now or dt.datetime.now(dt.UTC)) - age
    report = Archived(older_than, dry_run)
    forks: dict[str, list[tuple[str, str]]] = {}
    for name, target in ledger.ref_tips(refs.FORKS_PREFIX):
        plan_id, _, fork_id = name[len(refs.FORKS_PREFIX) :].partition("/")
        forks.setdefault(plan_id, []).append((fork_id, target))
    entries: dict[str, bytes | str | tree.Entry | None] = {}
    tips: list[tuple[str, list[str]]] = []  # per plan: the tips it adds as parents
    removals: list[tuple[str, str]] = []
    for name, target in ledger.ref_tips(refs.PLANS_PREFIX):
        plan_id = name[len(refs.PLANS_PREFIX) :]
        tip = ledger.tip(name)
        if tip is None:
            continue
        why = _why_kept(planlog.state_of(tip), tip.event.time, cutoff)
        if why is not None:
            report.kept[why] = report.kept.get(why, 0) + 1
            continue
        view = plan_view(ledger, plan_id, tip=tip, forks=sorted({f for f, _ in forks.get(plan_id, [])}))
        assert view is not None
        report.archived.append(
            ArchivedPlan(plan_id, view.state, tip.event.time or "", [f for f, _ in forks.get(plan_id, [])])
        )
        entries[refs.archive_entry(plan_id)] = f"{target}\n"
        entries[archived_summary_path(plan_id)] = json.dumps(
            view.to_json(), ensure_ascii=False, separators=(",", ":")
        )
        removals.append((name, target))
        plan_tips = [target]
        for fork_id, fork_target in forks.get(plan_id, []):
            entries[refs.archive_entry(plan_id, fork_id)] = f"{fork_target}\n"
            removals.append((refs.fork_log(plan_id, fork_id), fork_target))
            plan_tips.append(fork_target)
        tips.append((plan_id, plan_tips))
    live = {name[len(refs.PLANS_PREFIX) :] for name, _ in ledger.ref_tips(refs.PLANS_PREFIX)}
    for plan_id in sorted(set(forks) - live):  # fork logs left live beside an archived plan's
        if ledger.archived_record(refs.archive_entry(plan_id)) is None:
            continue  # not archived: a fork log without its plan log is not ours to move
        for fork_id, fork_target in forks[plan_id]:
            entries[refs.archive_entry(plan_id, fork_id)] = f"{fork_target}\n"
            removals.append((refs.fork_log(plan_id, fork_id), fork_target))
            tips.append((plan_id, [fork_target]))
    report.refs_removed = len(removals)
    if dry_run or not removals:
        return report
    previous = ledger.archive_commit()
    report.commit = _write(ledger, previous, entries, tips)
    _swap(ledger, previous, report.commit, removals)
    return report


def _why_kept(state: str, finished: str | None, cutoff: dt.datetime) -> str | None:
    """Why a plan stays live (its state: running, halted; or its age), or None to archive it.
    The plan log's state is the plan's: it ends finished only once every fork has."""
    if state not in FINISHED:
        return state
    if finished and dt.datetime.fromisoformat(finished.replace("Z", "+00:00")) > cutoff:
        return "finished more recently"
    return None


def _write(
    ledger: Ledger, previous: str | None, entries: dict[str, Any], tips: list[tuple[str, list[str]]]
) -> str:
    """The new archive commits, PLANS_PER_COMMIT plans' tips each; the last has the full index."""
    by_plan: dict[str | None, dict[str, Any]] = {}
    for path, content in entries.items():
        by_plan.setdefault(_plan_path(path), {})[path] = content
    chunks = [tips[i : i + PLANS_PER_COMMIT] for i in range(0, len(tips), PLANS_PER_COMMIT)]
    commit = previous
    for number, chunk in enumerate(chunks, 1):
        changes = {
            path: content for plan_id, _ in chunk for path, content in by_plan.get(plan_id, {}).items()
        }
        parents = ([commit] if commit else []) + [tip for _, group in chunk for tip in group]
        message = f"archive: {plural(len(chunk), 'finished plan')} ({number}/{len(chunks)})\n"
        commit = ledger.commit_records(commit, changes, parents=parents, message=message)
    assert commit is not None
    return commit


def _plan_path(path: str) -> str | None:
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == refs.ARCHIVE_PLANS else None


def _swap(ledger: Ledger, previous: str | None, new: str, removals: list[tuple[str, str]]) -> None:
    """Move the archive ref and remove the archived live refs in one transaction, each only if
    it is still where it was read (compare-and-swap)."""
    lines = ["start", f"update {refs.ARCHIVE} {new} {previous or ZERO}"]
    lines += [f"delete {name} {target}" for name, target in removals]
    lines += ["prepare", "commit", ""]
    try:
        git(["--git-dir", str(ledger.git_dir), "update-ref", "--stdin"], stdin="\n".join(lines).encode())
    except ConductorError as exc:
        raise ConductorError(
            f"nothing was archived: a plan or the archive changed while archiving ({exc.message})",
            hint="run `conductor archive` again",
        ) from None
