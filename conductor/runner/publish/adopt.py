"""Bringing a finished fork into a branch (`conductor adopt`): fast-forward, merge or squash it
with the git CLI, then record `plan.adopted` in the plan log and, with --prune, delete the other
forks' branches (their logs stay, each with a `fork.pruned` event).

The tip of every branch adopt adopts or prunes is kept as `refs/conductor/kept/<plan>/<fork>`
(and named in the event), so the attested commits travel with `refs/conductor/*` and
`conductor verify` still checks them once the branch is gone (provenance/branches.py).

The git work is `branchmerge.py`'s, done as a person would do it, so the merge or squash commit
is a plain `git commit` with the repository's hooks: the guard judges it as it judges theirs.
This module chooses the fork and the branch, writes the messages and records the adoption.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conductor.errors import ConductorError, NotFoundError
from conductor.gitcli import git, git_text
from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.event import EventType
from conductor.models.layout import COMPLETED, EXPLANATION, StepPaths
from conductor.progress import say
from conductor.project import find_root
from conductor.report import plural
from conductor.runner.fork.acceptance import first_paragraph, wrapped
from conductor.runner.logs import forklog
from conductor.runner.logs.forklog import ForkLog
from conductor.runner.logs.planlock import plan_lock
from conductor.runner.logs.planlog import PlanLog
from conductor.runner.logs.plans import FINISHED, PlanRecord, load_plan
from conductor.runner.place.worktree import remove_fork_worktree, worktrees_setting
from conductor.runner.publish.branchmerge import STRATEGIES, Commit, Merge, bring_in, commits_between
from conductor.runner.views.compare import compare, recommend

STEP_TRAILERS = ("Conductor-Step", "Conductor-Attempt", "Conductor-Confidence", "Conductor-Evidence")
PROVENANCE = "Conductor-Provenance"


@dataclass
class Adopted:
    """A fork brought into a branch: how, the commits, and the other forks' branches pruned or kept."""

    plan: str
    fork: str
    branch: str  # the fork's branch
    into: str
    strategy: str
    previous: str  # the target branch's tip before
    commit: str = ""  # ... and after
    chosen: str = ""  # why this fork, when none was named
    up_to_date: bool = False
    steps: list[str] = field(default_factory=list)  # the step commits brought in, oldest first
    pruned: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # other forks' branches not pruned, with why
    notes: list[str] = field(default_factory=list)
    tip: str = ""  # the fork branch's tip adopted, kept as refs/conductor/kept/<plan>/<fork>


def adopt(target: str, *, into: str | None, strategy: str, prune: bool) -> Adopted:
    if strategy not in STRATEGIES:
        raise ConductorError(f"unknown strategy '{strategy}'", hint="--ff, --merge or --squash")
    root = find_root()
    ledger = Ledger(root)
    plan_id, _, named = target.partition("/")
    plan = load_plan(ledger, plan_id)
    fork, chosen = choose_fork(ledger, plan_id, named or None)
    branch = refs.short_branch(plan_id, fork)
    tip = ledger.points_at(refs.code_branch(plan_id, fork))
    if tip is None:
        raise NotFoundError(f"the branch {branch} is gone", hint="its records stay in the fork log")
    notes: list[str] = []
    into = into or default_target(root, plan, notes)
    if into == branch:
        raise ConductorError(f"cannot adopt {branch} into itself", hint="--into BRANCH")
    with plan_lock(ledger.git_dir, plan_id):
        previous = ledger.points_at(f"refs/heads/{into}")
        if previous is None:
            raise NotFoundError(f"no branch '{into}' in this repository", hint="--into names a local branch")
        result = Adopted(plan_id, fork, branch, into, strategy, previous, chosen=chosen, notes=notes)
        say(f"adopting {branch} into {into} ({strategy})")
        if ledger.is_ancestor(tip, previous):
            result.up_to_date, result.commit = True, previous
        else:
            result.steps = [c.sha for c in commits_between(root, previous, tip)]
            merge = Merge(
                tip,
                branch,
                into,
                previous,
                strategy,
                scratch=ledger.git_dir / "conductor" / "adopt" / plan_id,
                reflog=f"conductor adopt {plan_id}/{fork}",
            )
            result.commit = bring_in(
                root, ledger, merge, lambda commits: message(ledger, plan, fork, strategy, commits)
            )
            say(f"  {into} is now at {result.commit[:12]}")
        result.tip = tip
        keep(ledger, plan_id, fork, tip)
        if prune:
            prune_others(root, ledger, plan_id, fork, result)
        record(ledger, result)
    return result


def choose_fork(ledger: Ledger, plan: str, fork: str | None) -> tuple[str, str]:
    """The fork to adopt — the one named, else the recommended one — and why it was chosen;
    an unfinished fork is refused."""
    forks = ledger.forks(plan)
    if fork is None:
        summaries = compare(ledger, plan)
        best, why = recommend(summaries)
        completed = [s.fork for s in summaries if s.status == "completed"]
        if best is not None:
            return best.fork, f"recommended ({why})" if len(forks) > 1 else ""
        if len(forks) == 1 and completed:
            return completed[0], ""  # the plan's only fork: nothing to choose from
        if completed:  # none is recommended over the others: a person chooses
            raise ConductorError(
                f"no fork of plan {plan} to recommend: {why}",
                hint=f"name the one to adopt: conductor adopt {plan}/FORK (forks: {', '.join(forks)})",
            )
        raise ConductorError(
            f"no fork of plan {plan} has completed: there is nothing to adopt ({why})",
            hint=f"see `conductor status`; finish a fork with `conductor resume {plan}`",
        )
    if fork not in forks:
        raise NotFoundError(
            f"plan {plan} has no fork '{fork}'", hint=f"its forks: {', '.join(forks) or 'none'}"
        )
    state = forklog.state_of(ledger.tip(refs.fork_log(plan, fork)))
    if state != "completed":
        unfinished = state not in FINISHED
        raise ConductorError(
            f"fork {fork} of plan {plan} is {state}, not completed: only a finished fork is adopted",
            hint=(
                f"finish it with `conductor resume {plan}` (approving a waiting step), or adopt another fork"
                if unfinished
                else f"adopt a completed fork (see `conductor status`), or redo this one from a point"
                f" with `conductor fork --from {plan}/{fork}@…`"
            ),
        )
    return fork, ""


def default_target(root: Path, plan: PlanRecord, notes: list[str]) -> str:
    """The branch the plan started from; for a plan that did not record it, the branch checked out."""
    if plan.branch:
        return plan.branch
    try:
        current = git_text(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=root)
    except ConductorError:
        raise ConductorError(
            f"plan {plan.id} did not record the branch it started from, and HEAD is detached",
            hint="name the branch: --into BRANCH",
        ) from None
    notes.append(
        f"plan {plan.id} did not record the branch it started from; adopting into {current}, checked out"
    )
    return current


def message(ledger: Ledger, plan: PlanRecord, fork: str, strategy: str, commits: list[Commit]) -> str:
    """The merge or squash commit's message (a squash's with each step's explanation)."""
    if strategy == "squash":
        return squash_message(plan, fork, commits, why=explanations(ledger, commits))
    return merge_message(plan, fork, commits)


def explanations(ledger: Ledger, commits: list[Commit]) -> dict[str, str]:
    """The first paragraph of the explanation of each step commit (by its sha), from the records
    of the plan and fork its trailers name (a fork --from plan's first commits are another's)."""
    found: dict[str, str] = {}
    tips: dict[str, Snapshot | None] = {}
    for commit in commits:
        values = dict(commit.trailers)
        plan, fork, step = (values.get(f"Conductor-{k}") for k in ("Plan", "Fork", "Step"))
        if not (plan and fork and step):
            continue
        log = refs.fork_log(plan, fork)
        if log not in tips:
            tips[log] = ledger.tip(log)
        tip = tips[log]
        said = tip.read(StepPaths(step).record(COMPLETED, EXPLANATION)) if tip is not None else None
        paragraph = first_paragraph(said.decode("utf-8", "replace")) if said else ""
        if paragraph:
            found[commit.sha] = paragraph
    return found


def merge_message(plan: PlanRecord, fork: str, commits: list[Commit]) -> str:
    branch = refs.short_branch(plan.id, fork)
    return (
        f"Merge {branch}: {_line(plan.goal)}\n\n"
        f"Adopts fork {fork} of plan {plan.id}{_strategy(plan, fork)}:"
        f" {plural(len(commits), 'commit')}, each with its Conductor-* trailers.\n\n"
        f"Conductor-Plan: {plan.id}\nConductor-Fork: {fork}\nConductor-Adopted: merge\n"
    )


def squash_message(
    plan: PlanRecord, fork: str, commits: list[Commit], *, why: Mapping[str, str] | None = None
) -> str:
    """One commit for the whole fork: each step's title and commit in the body, with the first
    paragraph of its explanation below it (`why`, by commit), and each step's trailers (step,
    attempt, confidence, evidence, provenance digest) kept in order below."""
    branch = refs.short_branch(plan.id, fork)
    body = [f"{_line(plan.goal)}\n", f"Squashes {branch} ({plural(len(commits), 'commit')}):\n"]
    trailers = [f"Conductor-Plan: {plan.id}", f"Conductor-Fork: {fork}", "Conductor-Adopted: squash"]
    for commit in commits:
        values = dict(commit.trailers)
        step = values.get("Conductor-Step")
        body.append(f"- {step or 'not a step'}: {_line(commit.subject)} ({commit.sha[:12]})")
        said = (why or {}).get(commit.sha)
        if said:
            body.append(wrapped(said, indent="  "))
        if step is not None:
            trailers += [f"{key}: {values[key]}" for key in (*STEP_TRAILERS, PROVENANCE) if key in values]
    return "\n".join(body) + "\n\n" + "\n".join(trailers) + "\n"


def _strategy(plan: PlanRecord, fork: str) -> str:
    strategies = [f.strategy for f in plan.spec.forks if f.id == fork and f.strategy]
    return f" ({_line(strategies[0])})" if strategies else ""


def _line(text: str) -> str:
    return " ".join(text.split())


def prune_others(root: Path, ledger: Ledger, plan: str, fork: str, result: Adopted) -> None:
    """Delete the other finished forks' branches (and worktrees); their logs stay, and record
    each prune (`fork.pruned`) with the tip kept under refs/conductor/kept/."""
    for other in ledger.forks(plan):
        branch = refs.short_branch(plan, other)
        other_tip = ledger.points_at(refs.code_branch(plan, other))
        if other == fork or other_tip is None:
            continue
        state = forklog.state_of(ledger.tip(refs.fork_log(plan, other)))
        if state not in FINISHED:
            result.kept.append(f"{branch}: fork {other} is {state} (abandon it first to prune it)")
            continue
        remove_fork_worktree(
            repo_root=root,
            git_dir=ledger.git_dir,
            plan=plan,
            fork=other,
            configured=worktrees_setting(ledger, plan),
        )
        kept = keep(ledger, plan, other, other_tip)
        try:
            git(["branch", "--quiet", "-D", branch], cwd=root)
        except ConductorError as exc:
            result.kept.append(f"{branch}: {exc.message}")
            continue
        record_prune(ledger, plan, other, other_tip, result)
        result.pruned.append(branch)
        say(f"  deleted branch {branch} (its log stays; its commits are kept as {kept})")


def keep(ledger: Ledger, plan: str, fork: str, tip: str) -> str:
    """Point refs/conductor/kept/<plan>/<fork> at the fork branch's `tip`: it keeps the attested
    commits reachable, and fetched with the ledger, once the branch is gone."""
    ref = refs.kept(plan, fork)
    current = ledger.points_at(ref)
    if current != tip:
        ledger.set_branch(ref, tip, expect=current)
    return ref


def record_prune(ledger: Ledger, plan: str, fork: str, tip: str, result: Adopted) -> None:
    """`fork.pruned` in the pruned fork's log: which branch, its tip and where it is kept, and the
    adoption that pruned it. The fork's state is unchanged (the event carries it)."""
    branch = refs.short_branch(plan, fork)
    ForkLog(ledger, plan, fork).record(
        EventType.FORK_PRUNED,
        f"branch {branch} pruned when fork {result.fork} was adopted into {result.into}",
        data={
            "branch": branch,
            "tip": tip,
            "kept": refs.kept(plan, fork),
            "adopted": result.fork,
            "into": result.into,
        },
    )


def record(ledger: Ledger, result: Adopted) -> None:
    """`plan.adopted` in the plan log (adopting changes no state: the event carries the plan's on)."""
    how = "already contained" if result.up_to_date else f"{result.strategy}, {result.commit[:12]}"
    PlanLog(ledger, result.plan).record(
        EventType.PLAN_ADOPTED,
        f"fork {result.fork} adopted into {result.into} ({how})",
        fork=result.fork,
        data={
            "fork": result.fork,
            "branch": result.branch,
            "into": result.into,
            "strategy": result.strategy,
            "previous": result.previous,
            "commit": result.commit,
            "up_to_date": result.up_to_date,
            "pruned": result.pruned,
            "tip": result.tip,
            "kept": refs.kept(result.plan, result.fork),
        },
    )
