"""How `conductor status` and `events --limit 20` grow with the number of plans (issue 13).

Repositories of finished plans (2 forks of 3 steps each: 5 refs and 30 events a plan) are
written straight through pygit2 in the ledger's format (running thousands of plans through
the engine would only make the set-up slow), then packed as `git gc` leaves them. For each
size the script times, through the CLI:

  status          the default view (the newest plans, a screenful)
  status --all    every plan
  events -l 20    the newest 20 events

and prints the growth exponent between sizes (the slope of log time over log plans) with
the goals: the default view at the largest size within 1.5x of the smallest; `status --all`
exponent <= 1.1. Then it archives every plan of the largest repository (`conductor archive
--older-than 0`) and times `status --all` again, with the live ref count before and after.

    python bench/status_scale.py            10, 100, 1,000 and 5,000 plans
    python bench/status_scale.py --quick    10 and 100 plans
    python bench/status_scale.py --sizes 1 2 --rounds 1 --warmup 0    the smallest (the tests)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pygit2
from _common import BIN, ENV, git, median_time, workdir

from conductor.engine.state import ForkState
from conductor.ledger import format as ledger_format
from conductor.ledger import message, refs, tree
from conductor.ledger.snapshot import Snapshot
from conductor.models.event import Event, EventType
from conductor.models.layout import StepPaths
from conductor.runner.logs import records

SIZES = (10, 100, 1000, 5000)
QUICK = (10, 100)
FORKS = ("alpha", "beta")
STEPS = ("step_001", "step_002", "step_003")
STEP_EVENTS = (
    EventType.TASK_CREATED,
    EventType.TASK_CLAIMED,
    EventType.RESULT_RECEIVED,
    EventType.TASK_COMPLETED,
)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Writer:
    """Appends events to logs the way the ledger does: one commit each, snapshot tree, and for
    a fork log the folded state written by the same commit (state.json, state/<step>.json)."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self.tips: dict[str, tuple[pygit2.Oid, pygit2.Tree, int]] = {}
        self.states: dict[str, ForkState] = {}

    def append(self, ref: str, event: Event, when: dt.datetime, changes: tree.Changes) -> None:
        repo = self.repo
        tip = self.tips.get(ref)
        full = dict(changes)
        if tip is None:
            full[ledger_format.FORMAT_FILE] = ledger_format.encode()
        seq = tip[2] + 1 if tip else 1
        event.seq, event.time = seq, message.format_time(when)
        if event.fork is not None:  # the folded state, as the runner writes it with each event
            known = self.states.setdefault(ref, ForkState(event.plan, event.fork))
            previous = None
            if tip is not None:
                commit = repo.get(tip[0])
                assert isinstance(commit, pygit2.Commit)
                previous = Snapshot(repo, commit, message.decode(commit.message, commit=str(tip[0]), ref=ref))
            full.update(records.fold_state(previous, event, known))
            known.apply(event)
        tree_id = tree.apply(repo, tip[1] if tip else None, full)
        sig = pygit2.Signature("Bench", "bench@example.com", int(when.timestamp()), 0)
        commit = repo.create_commit(None, sig, sig, message.encode(event), tree_id, [tip[0]] if tip else [])
        found = repo.get(tree_id)
        assert isinstance(found, pygit2.Tree)
        self.tips[ref] = (commit, found, seq)

    def finish(self) -> None:
        for ref, (commit, _, _) in self.tips.items():
            self.repo.references.create(ref, commit)
        self.tips.clear()
        self.states.clear()


def plan_id(number: int) -> str:
    return f"plan-{number:05d}"


def populate(root: Path, plans: int) -> None:
    """`plans` finished plans, one a minute, with their code branches (5 refs a plan)."""
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "initial")
    repo = pygit2.Repository(str(root))
    base = repo.head.target
    writer = Writer(repo)
    for number in range(plans):
        plan = plan_id(number)
        when = START + dt.timedelta(minutes=number)
        info = {"id": plan, "goal": f"goal {number}", "base": str(base), "created": message.format_time(when)}
        plan_ref = refs.plan_log(plan)
        created = Event(EventType.PLAN_CREATED, plan=plan, summary=info["goal"], state="running")
        writer.append(plan_ref, created, when, {"plan.json": json.dumps(info, indent=2)})
        for fork in FORKS:
            ref = refs.fork_log(plan, fork)
            spec = {
                "id": fork,
                "strategy": f"strategy {fork}",
                "branch": refs.short_branch(plan, fork),
                "base": str(base),
                "steps": [{"id": step, "title": f"title {step}"} for step in STEPS],
            }
            moment = when
            event = Event(
                EventType.FORK_CREATED, plan=plan, fork=fork, summary=spec["strategy"], state="running"
            )
            writer.append(ref, event, moment, {"fork.json": json.dumps(spec, indent=2)})
            for step in STEPS:
                for kind in STEP_EVENTS:
                    moment += dt.timedelta(milliseconds=100)
                    data = (
                        {"confidence": {"level": "high", "score": 0.9}}
                        if kind is EventType.TASK_CREATED
                        else {}
                    )
                    event = Event(
                        kind,
                        plan=plan,
                        fork=fork,
                        step=step,
                        attempt=1,
                        summary=f"{kind.value} {step}",
                        state="running",
                        data=data,
                    )
                    changes: dict[str, str | None] = {}
                    if kind is EventType.TASK_CREATED:
                        changes[f"pending/{step}.task.json"] = "{}"
                        assessment = {**data["confidence"], "factors": []}
                        changes[StepPaths(step).attempt(1).confidence] = json.dumps(assessment)
                    elif kind is EventType.TASK_COMPLETED:
                        changes[f"pending/{step}.task.json"] = None
                        changes[f"completed/{step}.task.json"] = "{}"
                    writer.append(ref, event, moment, changes)
            done = Event(
                EventType.FORK_COMPLETED,
                plan=plan,
                fork=fork,
                summary="all 3 steps completed",
                state="completed",
            )
            writer.append(ref, done, moment + dt.timedelta(milliseconds=100), {})
            repo.references.create(refs.code_branch(plan, fork), base)
        ended = Event(
            EventType.PLAN_COMPLETED, plan=plan, summary="alpha completed, beta completed", state="completed"
        )
        writer.append(plan_ref, ended, when + dt.timedelta(seconds=2), {})
        if number % 500 == 499:
            writer.finish()
    writer.finish()
    git(root, "gc", "-q")


def conductor(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "conductor"), *args], cwd=root, env=ENV, capture_output=True, text=True, check=True
    )


def timed(root: Path, *args: str, repeat: int) -> float:
    return median_time(lambda: conductor(root, *args), repeat=repeat, warmup=1)


def slope(sizes: list[int], times: list[float]) -> float:
    """The least-squares slope of log(time) over log(size): 1 is linear, 2 quadratic."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def live_refs(root: Path) -> int:
    return len(git(root, "for-each-ref", "--format=%(refname)", "refs/conductor/").split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="only 10 and 100 plans (a smoke run)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each command at each size")
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed rounds first, to warm the caches (default 1)"
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        metavar="PLANS",
        help="the repositories' plan counts, smallest first (default 10 100 1000 5000; --quick: 10 100)",
    )
    args = parser.parse_args()
    sizes = list(args.sizes or (QUICK if args.quick else SIZES))
    if len(sizes) < 2 or sizes[0] < 1 or sizes != sorted(set(sizes)) or args.rounds < 1 or args.warmup < 0:
        parser.error(
            "--sizes takes two or more plan counts, growing from 1 or more;"
            " --rounds 1 or more; --warmup 0 or more"
        )
    views = {
        "status": ("status",),
        "status --all": ("status", "--all"),
        "events --limit 20": ("events", "--limit", "20"),
    }
    roots: dict[int, Path] = {}
    try:
        for size in sizes:
            roots[size] = workdir(f"status-{size}")
            print(f"writing {size:,} plans...", file=sys.stderr)
            populate(roots[size], size)
        # Rounds go over every size in turn, so that noise on a shared machine hits all sizes.
        samples: dict[tuple[str, int], list[float]] = {(name, size): [] for name in views for size in sizes}
        for round_ in range(args.warmup + args.rounds):
            for size in sizes:
                for name, argv in views.items():
                    took = timed_once(roots[size], *argv)
                    if round_ >= args.warmup:  # the first rounds warm the caches
                        samples[name, size].append(took)
        results = {name: [statistics.median(samples[name, size]) for size in sizes] for name in views}
        report(sizes, results)
        archive(roots[sizes[-1]], results["status --all"][-1], rounds=args.rounds)
    finally:
        for root in roots.values():
            shutil.rmtree(root, ignore_errors=True)


def report(sizes: list[int], results: dict[str, list[float]]) -> None:
    print(
        "conductor status and events by plans in the repository"
        f" ({len(FORKS)} forks x {len(STEPS)} steps each)"
    )
    print(f"  {'plans':<17}" + "".join(f"{size:>10,}" for size in sizes) + "   exponent   last step")
    for name, times in results.items():
        overall, last = slope(sizes, times), slope(sizes[-2:], times[-2:])
        print(
            f"  {name:<17}"
            + "".join(f"{t * 1000:8.0f}ms" for t in times)
            + f"   {overall:8.2f}   {last:9.2f}"
        )
    default = results["status"][-1] / results["status"][0]
    everything = slope(sizes, results["status --all"])
    print(
        f"  status at {sizes[-1]:,} plans / at {sizes[0]:,}: {default:.2f}x   (goal <= 1.5x: "
        + ("ok" if default <= 1.5 else "OVER GOAL")
        + ")"
    )
    print(
        f"  status --all exponent: {everything:.2f}   (goal <= 1.1: "
        + ("ok" if everything <= 1.1 else "OVER GOAL")
        + ")"
    )


def archive(root: Path, before_all: float, *, rounds: int) -> None:
    before = live_refs(root)
    took = timed_once(root, "archive", "--older-than", "0")
    after = live_refs(root)
    listed = statistics.median(timed_once(root, "status", "--all") for _ in range(rounds))
    default = statistics.median(timed_once(root, "status") for _ in range(rounds))
    print(
        f"conductor archive --older-than 0: {took:.2f} s;"
        f" live refs under refs/conductor/: {before:,} -> {after:,}"
    )
    print(f"  status --all after archiving: {listed * 1000:.0f}ms (before: {before_all * 1000:.0f}ms)")
    print(f"  status after archiving: {default * 1000:.0f}ms")


def timed_once(root: Path, *args: str) -> float:
    return median_time(lambda: conductor(root, *args), repeat=1, warmup=0)


if __name__ == "__main__":
    main()
