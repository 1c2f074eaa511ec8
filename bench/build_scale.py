"""A run costs what it does, not what came before it (issue 21, point 6). Goals, each in one run:

  a one-step build in a repository of 5,000 plans within 1.2x of the same in one of 10 plans;
  `conductor explain` of a step of a 200-step fork within 1.2x of the same on a 10-step fork.

Plans are not built one by one (5,000 builds take hours): one plan is built for real, through
`conductor build` in a `conductor init` project, and copied under new names through the ledger's
own commit path (Repo.apply and create_commit, as Ledger.append writes an event): each commit of
its plan log and fork log again, the plan's id and the ids of the log's earlier commits rewritten
in its message and records, each at its own time; then the refs in one `git update-ref --stdin`,
everything packed as `git gc` leaves it, and the handoff metrics folded over every plan
(`conductor handoff-metrics --recompute`, timed): what a build reads there is what it would find
after 5,000 builds. The two repositories are made the same way; builds of a new one-step plan
alternate between them (each figure a median, the whole command).

The forks explained are built for real by the fork runner, in process (bench/step_overhead.py's
way: an agent that writes its file and result at once); `conductor explain step_001` (the step
farthest from the log's tip) runs against each in turn, through the CLI (the goal) and, without
the process's start, in process (no goal: the view alone, to show what still grows with the
fork — the plan record it validates whole).

    python bench/build_scale.py            5,000 plans against 10; 200 steps against 10
    python bench/build_scale.py --quick    200 plans against 10; 30 steps against 10
    python bench/build_scale.py --plans 2 3 --steps 2 3 --rounds 1 --warmup 0    the smallest (the tests)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BIN, ENV, git, interleaved, workdir
from step_overhead import InstantAgent, step_times

from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.plan import StepSpec
from conductor.project import private_state

PLANS = (10, 5000)
QUICK_PLANS = (10, 200)
STEPS = (10, 200)
QUICK_STEPS = (10, 30)
ROUNDS = 7
QUICK_ROUNDS = 3
GOAL = 1.2
AGENT = 'mkdir -p new && printf "value = 1\\n" > "new/$CONDUCTOR_STEP.py"'
ONE_STEP = {
    "goal": "bench",
    "steps": [{"title": "add a module", "instruction": "add a module", "allowed_files": ["new/*.py"]}],
}
CONDUCTOR = str(BIN / "conductor")


def conductor(root: Path, *args: str) -> str:
    proc = subprocess.run([CONDUCTOR, *args], cwd=root, env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(
            f"conductor {' '.join(args)} failed in {root}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return proc.stdout


def project(name: str) -> Path:
    """A `conductor init` project with a one-step plan file committed."""
    base = workdir(name)
    subprocess.run([CONDUCTOR, "init", "proj"], cwd=base, env=ENV, check=True, capture_output=True)
    root = base / "proj"
    (root / "plan.yaml").write_text(json.dumps(ONE_STEP))  # JSON is YAML
    git(root, "add", "plan.yaml")
    git(root, "commit", "-q", "-m", "plan")
    return root


def build(root: Path) -> str:
    """One `conductor build` of the one-step plan; the new plan's id."""
    out = conductor(root, "build", "--plan", "plan.yaml", "--exec", AGENT, "--yes", "--json")
    return str(json.loads(out)["plan"])


def copy_plan(ledger: Ledger, template: str, new: str) -> list[tuple[str, str]]:
    """The template plan's logs copied as plan `new`: each commit written again, the plan's id
    and the earlier commits' ids rewritten; the refs to create, with their targets (the code
    branch points at the template's code)."""
    repo, who = ledger.backend, ledger.identity()
    renamed = {template.encode(): new.encode()}
    made: list[tuple[str, str]] = []
    forks = ledger.forks(template)
    for ref in [*(refs.fork_log(template, f) for f in forks), refs.plan_log(template)]:
        tip = ledger.points_at(ref)
        assert tip is not None, ref
        old_parent = new_parent = new_tree = None
        for old in reversed([commit for commit, _ in repo.first_parents(tip)]):
            commit = repo.read_commit(old)
            snapshot = ledger.at(old)
            paths = (
                list(snapshot.files())
                if old_parent is None
                else repo.changed_paths(repo.read_commit(old_parent).tree, commit.tree)
            )
            changes: dict[str, bytes | None] = {}
            for path in paths:
                data = snapshot.read(path)
                changes[path] = _renamed(data, renamed) if data is not None else None
            new_tree = repo.apply(new_tree, changes)
            message = _renamed(commit.message.encode(), renamed).decode()
            made_id = repo.create_commit(
                new_tree,
                parents=[new_parent] if new_parent else [],
                message=message,
                author=who,
                committer=who,
                when=commit.time,
            )
            renamed[old.encode()] = made_id.encode()
            old_parent, new_parent = old, made_id
        assert new_parent is not None
        made.append((ref.replace(template, new, 1), new_parent))
    for fork in forks:
        code = ledger.points_at(refs.code_branch(template, fork))
        assert code is not None
        made.append((refs.code_branch(new, fork), code))
    return made


def _renamed(data: bytes, renamed: dict[bytes, bytes]) -> bytes:
    for old, new in renamed.items():
        data = data.replace(old, new)
    return data


def history(plans: int) -> tuple[Path, float]:
    """A project with `plans` plans (one built, the rest copies of it), packed, the metrics
    folded over all of them; and how long that fold took."""
    root = project(f"scale-{plans}")
    template = build(root)
    ledger = Ledger(root)
    updates: list[tuple[str, str]] = []
    for n in range(1, plans):
        updates += copy_plan(ledger, template, f"{template[:40]}-{n:05d}")
    stdin = "".join(f"create {name} {target}\n" for name, target in updates)
    subprocess.run(["git", "update-ref", "--stdin"], cwd=root, env=ENV, input=stdin, text=True, check=True)
    git(root, "gc", "-q")
    start = time.perf_counter()
    conductor(root, "handoff-metrics", "--recompute", "--json")
    folded = time.perf_counter() - start
    assert len(Ledger(root).plans()) == plans
    return root, folded


def fork_of(steps: int) -> Path:
    """A repository with one plan whose one fork ran `steps` steps (in process)."""
    root = workdir(f"explain-{steps}")
    git(root, "init", "-q")
    (root / "README.md").write_text("bench\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    specs = [
        StepSpec(title=f"add {i}", instruction=f"add module {i}", allowed_files=[f"m{i:04d}.py"])
        for i in range(1, steps + 1)
    ]
    here = Path.cwd()
    try:
        step_times(root, f"explain-{steps}", specs, InstantAgent())
    finally:
        os.chdir(here)
    return root


def explained_in_process(root: Path) -> Callable[[], object]:
    from conductor.runner.views.explanation import explain

    def run() -> object:
        here = Path.cwd()
        os.chdir(root)
        try:
            return explain("step_001")
        finally:
            os.chdir(here)

    return run


def show(title: str, rows: list[tuple[str, float]], goal: float | None) -> float:
    print(title)
    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        print(f"  {label:<{width}}  {seconds * 1000:9.1f} ms")
    ratio = rows[-1][1] / rows[0][1]
    if goal is None:
        print(f"  ratio: {ratio:.2f}x", flush=True)
    else:
        verdict = "ok" if ratio <= goal else "OVER GOAL"
        print(f"  ratio: {ratio:.2f}x  (goal <= {goal}x: {verdict})", flush=True)
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 plans and 30 steps, 3 rounds")
    parser.add_argument("--rounds", type=int, help=f"builds and explains timed in each (default {ROUNDS})")
    parser.add_argument(
        "--plans",
        type=int,
        nargs=2,
        metavar=("FEW", "MANY"),
        help=f"plans in the two repositories (default {PLANS[0]} and {PLANS[1]:,};"
        f" --quick: {QUICK_PLANS[0]} and {QUICK_PLANS[1]})",
    )
    parser.add_argument(
        "--steps",
        type=int,
        nargs=2,
        metavar=("SHORT", "LONG"),
        help=f"steps of the two forks explained (default {STEPS[0]} and {STEPS[1]};"
        f" --quick: {QUICK_STEPS[0]} and {QUICK_STEPS[1]})",
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed builds and explains before the timed ones (default 1)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the repositories (their paths on stderr)")
    args = parser.parse_args()
    small, large = args.plans or (QUICK_PLANS if args.quick else PLANS)
    short, long = args.steps or (QUICK_STEPS if args.quick else STEPS)
    if min(small, short) < 1 or args.warmup < 0:
        parser.error("--plans and --steps take counts of at least 1, --warmup 0 or more")
    warmup = args.warmup
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    os.environ.update({k: v for k, v in ENV.items() if k.startswith("GIT_")})
    made: list[Path] = []
    try:
        print(f"writing {small} and {large} plans...", file=sys.stderr, flush=True)
        (few, _), (many, folded) = history(small), history(large)
        made += [few.parent, many.parent]
        print(f"running {short}- and {long}-step forks...", file=sys.stderr, flush=True)
        brief, lengthy = fork_of(short), fork_of(long)
        made += [brief, lengthy]
        print(f"handoff-metrics --recompute over {large} plans: {folded:.2f} s (once, not per run)")
        ours, base = interleaved(lambda: build(many), lambda: build(few), rounds=rounds, warmup=warmup)
        show(
            "A one-step build (conductor build --exec CMD --yes, the whole command):",
            [(f"{small} plans", base), (f"{large} plans", ours)],
            GOAL,
        )
        ours, base = interleaved(
            lambda: conductor(lengthy, "explain", "step_001", "--json"),
            lambda: conductor(brief, "explain", "step_001", "--json"),
            rounds=rounds,
            warmup=warmup,
        )
        show(
            "conductor explain step_001 (the whole command):",
            [(f"{short}-step fork", base), (f"{long}-step fork", ours)],
            GOAL,
        )
        inside = [explained_in_process(root) for root in (lengthy, brief)]
        ours, base = interleaved(inside[0], inside[1], rounds=rounds * 5, warmup=warmup)
        show(
            "conductor explain step_001 in process (the view alone, for what grows: it reads the"
            " step's state and events, and validates the whole plan record):",
            [(f"{short}-step fork", base), (f"{long}-step fork", ours)],
            None,
        )
    finally:
        for path in made:
            if args.keep:
                print(f"kept {path}", file=sys.stderr)
                continue
            root = path / "proj" if (path / "proj").is_dir() else path
            shutil.rmtree(private_state(root, root / ".git"), ignore_errors=True)  # its worktrees
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
