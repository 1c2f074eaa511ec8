"""What a fork costs as the repository grows (issue 21, point 7). Goals: a one-step `conductor
build` at LARGE files within 1.5x of the same at SMALL files, and `conductor explore` with four
forks at LARGE files within 1.5x of one fork there — a fork should cost what its step touches,
not what the repository holds.

Each repository is SMALL or LARGE small Python files in folders of 100, committed and packed, with
`conductor init` run and its policy as init writes it (workspace.layers: auto by default — the LARGE one's
forks are layered where the machine can mount them, the SMALL one's are git worktrees), and its
forks' worktrees, layers and base checkout in a state directory beside it (XDG_STATE_HOME), which
goes with it at the end (BENCH_KEEP=1 keeps both). The
first build in each repository is printed apart: it makes the base checkout a layered fork
shares, once. Each run is the command line a user runs, in a process of its own, with the
same trivial agent (a shell command that writes one file) in the sandbox where there is one. The
figures are medians over ROUNDS runs, each a new plan; the sizes are run alternately, so that
the machine's noise hits both. Beside each build, where its git time went (GIT_TRACE2: the
slowest git commands of the last run), which says what still grows with the repository.

`--layers on` (or `off`) sets workspace.layers in both repositories' policy instead, so that
repositories smaller than `auto` weighs (docs/policy.md) can have layered forks too.

    python bench/fork_cost.py              1,000 and 100,000 files, 3 rounds
    python bench/fork_cost.py --quick      1,000 and 5,000 files, 1 round
    python bench/fork_cost.py --files 10 20 --layers on    the smallest, layered (the tests)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import BIN, ENV, git, workdir

AGENT = "sh -c 'echo done > out.txt'"
PLAN = """goal: one file
steps:
  - title: Write out.txt
    instruction: write out.txt
    allowed_files: [out.txt]
"""


def make_repo(files: int, layers: str) -> Path:
    root = workdir(f"forks-{files}") / "repo"  # beside it: its state (conductor())
    root.mkdir()
    git(root, "init", "-q")
    for i in range(files):
        directory = root / f"pkg{i // 100:05d}"
        if i % 100 == 0:
            directory.mkdir()
        (directory / f"mod{i % 100:03d}.py").write_text(f"x = {i}\n")
    (root / "plan.yaml").write_text(PLAN)
    git(root, "add", "-A")
    git(root, "-c", "gc.auto=0", "commit", "-q", "-m", "base")
    git(root, "gc", "-q")
    conductor(root, "init")
    if layers != "auto":  # what init writes is auto (its default), which it leaves unsaid
        with (root / ".conductor" / "policy.yaml").open("a") as policy:
            policy.write(f"\nworkspace:\n  layers: '{layers}'\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "conductor init")
    return root


def conductor(root: Path, *args: str, trace: Path | None = None) -> float:
    env = {
        **ENV,
        "XDG_STATE_HOME": str(root.parent / "state"),
        **({"GIT_TRACE2": str(trace)} if trace else {}),
    }
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "conductor"), *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"conductor {' '.join(args)} failed in {root}:\n{proc.stdout}{proc.stderr}")
    return took


def build(root: Path, trace: Path | None = None) -> float:
    return conductor(root, "build", "--plan", "plan.yaml", "--exec", AGENT, "--yes", trace=trace)


def explore(root: Path, forks: int) -> float:
    strategies = [arg for i in range(forks) for arg in ("--strategy", f"way {i}")]
    return conductor(root, "explore", "Write out.txt", *strategies, "--exec", AGENT, "--yes")


def slowest_git(trace: Path, count: int = 3) -> list[tuple[float, str]]:
    """The slowest git commands a GIT_TRACE2 file recorded (nested ones under their parent)."""
    stack: list[str] = []
    done: list[tuple[float, str]] = []
    for line in trace.read_text(errors="replace").splitlines():
        if " start " in line:
            stack.append(line.split(" start ", 1)[1].strip())
        elif match := re.search(r" exit elapsed:([\d.]+) ", line):
            done.append((float(match.group(1)), stack.pop() if stack else "?"))
    return sorted(done, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 files, 1 round")
    parser.add_argument(
        "--rounds", type=int, default=None, help="builds timed in each (default 3; --quick: 1)"
    )
    parser.add_argument(
        "--files",
        type=int,
        nargs=2,
        metavar=("SMALL", "LARGE"),
        help="files in the two repositories (default 1,000 and 100,000; --quick: 1,000 and 5,000)",
    )
    parser.add_argument(
        "--layers",
        choices=("auto", "on", "off"),
        default="auto",
        help="workspace.layers in both repositories (default auto, as conductor init leaves it)",
    )
    args = parser.parse_args()
    small, large = args.files or ((1_000, 5_000) if args.quick else (1_000, 100_000))
    rounds = args.rounds or (1 if args.quick else 3)
    if not 1 <= small < large:
        parser.error("--files takes two sizes, the second larger, from 1 file")
    print(f"making repositories of {small:,} and {large:,} files …", flush=True)
    repos = {small: make_repo(small, args.layers), large: make_repo(large, args.layers)}
    builds: dict[int, list[float]] = {small: [], large: []}
    # the first run in a repository fills caches the others share — and, where forks are layered
    # (docs/storage.md), makes the repository's base checkout: what a first plan pays, once
    first = {files: build(repo) for files, repo in repos.items()}
    for _ in range(rounds):
        for files, repo in repos.items():
            builds[files].append(build(repo))
    print("first one-step build in each repository (once: a layered fork makes the base checkout)")
    for files, took in first.items():
        print(f"  {files:>7,} files  {took:6.2f}s")
    print("one-step build (median wall time)")
    for files in repos:
        trace = repos[files] / ".git" / "bench-trace.txt"
        trace.unlink(missing_ok=True)
        build(repos[files], trace)
        slow = "; ".join(f"{t * 1000:.0f}ms {cmd[:60]}" for t, cmd in slowest_git(trace))
        print(f"  {files:>7,} files  {statistics.median(builds[files]):6.2f}s   slowest git: {slow}")
    ratio = statistics.median(builds[large]) / statistics.median(builds[small])
    verdict = "ok" if ratio <= 1.5 else "OVER GOAL"
    print(f"  at {large:,} / at {small:,}: {ratio:.2f}x  (goal <= 1.5x: {verdict})")

    one, four = [], []
    for _ in range(rounds):
        one.append(explore(repos[large], 1))
        four.append(explore(repos[large], 4))
    ratio = statistics.median(four) / statistics.median(one)
    print(f"explore at {large:,} files (median wall time)")
    print(f"  1 fork   {statistics.median(one):6.2f}s")
    print(f"  4 forks  {statistics.median(four):6.2f}s")
    print(f"  4 forks / 1 fork: {ratio:.2f}x  (goal <= 1.5x: {'ok' if ratio <= 1.5 else 'OVER GOAL'})")
    if os.environ.get("BENCH_KEEP") is None:
        for repo in repos.values():
            subprocess.run(["rm", "-rf", str(repo.parent)], check=False)


if __name__ == "__main__":
    main()
