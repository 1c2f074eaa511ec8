"""Ref names of the ledger (docs/storage.md): code branches, state logs and the work queue.

Every ref name Conductor uses is spelled here. Plan logs and fork logs live in separate
namespaces so that no ref is ever both a file and a directory (git cannot store `a` and
`a/b` together).
"""

from __future__ import annotations

from dataclasses import dataclass

STATE_PREFIX = "refs/conductor/"
PLANS_PREFIX = "refs/conductor/plans/"
FORKS_PREFIX = "refs/conductor/forks/"
MEMORY = "refs/conductor/memory"
BRANCH_PREFIX = "refs/heads/conductor/"
WORK_PREFIX = "refs/conductor/work/"  # the remote executor's queue (docs/workers.md)
KEPT_PREFIX = "refs/conductor/kept/"  # fork branches' tips kept by `conductor adopt` (docs/storage.md)
ARCHIVE = "refs/conductor/archive"  # finished plans' logs, folded by `conductor archive`
METRICS = "refs/conductor/metrics"  # this clone's handoff metrics (runner/logs/tally.py): a cache
ARCHIVE_PLANS = "plans"  # the archive index: plans/<plan>/plan, plans/<plan>/forks/<fork>
WORK_KINDS = ("task", "claim", "result")
WORK_TASK, WORK_CLAIM, WORK_RESULT = WORK_KINDS
SHARED = f"'{STATE_PREFIX}*:{STATE_PREFIX}*' '^{METRICS}'"
"""The ledger as `git push` and `git fetch` name it (shell words): every ref under
refs/conductor/ but the metrics, each clone's own cache, which diverges between clones that
both run plans (a push or fetch of it would be refused as not a fast-forward)."""


def plan_log(plan: str) -> str:
    return f"{PLANS_PREFIX}{plan}"


def fork_log(plan: str, fork: str) -> str:
    return f"{FORKS_PREFIX}{plan}/{fork}"


def archive_entry(plan: str, fork: str | None = None) -> str:
    """Where the archive index keeps the tip of a plan log (fork None) or of a fork log."""
    folder = f"{ARCHIVE_PLANS}/{plan}"
    return f"{folder}/plan" if fork is None else f"{folder}/forks/{fork}"


def code_branch(plan: str, fork: str) -> str:
    return f"{BRANCH_PREFIX}{plan}/{fork}"


def kept(plan: str, fork: str) -> str:
    """Where `conductor adopt` keeps the tip of a fork branch it adopted or pruned, so that its
    attested commits travel with `refs/conductor/*` once the branch is gone."""
    return f"{KEPT_PREFIX}{plan}/{fork}"


def short_branch(plan: str, fork: str) -> str:
    """The branch name as users type it: `conductor/<plan>/<fork>`."""
    return code_branch(plan, fork).removeprefix("refs/heads/")


def parse_branch(name: str) -> tuple[str, str] | None:
    """(plan, fork) of a code branch, full (`refs/heads/conductor/p/f`) or short; else None."""
    short = name.removeprefix("refs/heads/")
    if not short.startswith("conductor/"):
        return None
    plan, _, fork = short.removeprefix("conductor/").partition("/")
    return (plan, fork) if plan and fork and "/" not in fork else None


@dataclass(frozen=True, slots=True)
class LogRef:
    """A parsed state ref: a plan log (fork is None), a fork log, or the memory log."""

    name: str
    kind: str  # "plan", "fork" or "memory"
    plan: str | None = None
    fork: str | None = None


def parse(name: str) -> LogRef | None:
    """Parse a state ref name; None for refs that are not Conductor logs."""
    if name == MEMORY:
        return LogRef(name, "memory")
    if name.startswith(PLANS_PREFIX):
        plan = name[len(PLANS_PREFIX) :]
        return LogRef(name, "plan", plan) if plan and "/" not in plan else None
    if name.startswith(FORKS_PREFIX):
        plan, _, fork = name[len(FORKS_PREFIX) :].partition("/")
        if plan and fork and "/" not in fork:
            return LogRef(name, "fork", plan, fork)
    return None


def work_slot(plan: str, fork: str, step: str, attempt: int) -> str:
    """The queue folder of one attempt; `<slot>/task`, `/claim` and `/result` are its refs."""
    return f"{WORK_PREFIX}{plan}/{fork}/{step}/{attempt}"


def parse_work_ref(ref: str) -> tuple[str, str, str, int, str] | None:
    """(plan, fork, step, attempt, kind) of a queue ref; None for any other ref."""
    parts = ref.removeprefix(WORK_PREFIX).split("/")
    # the names come from whoever can push to the queue: an attempt is a few ASCII digits
    # (`"²".isdigit()` is true, and int() refuses more than 4300 digits)
    attempt = parts[3] if len(parts) == 5 else ""
    if not ref.startswith(WORK_PREFIX) or not (attempt.isascii() and attempt.isdigit() and len(attempt) <= 9):
        return None
    plan, fork, step, attempt, kind = parts
    return plan, fork, step, int(attempt), kind
