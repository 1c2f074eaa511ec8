"""`conductor explore` with 4 forks x 3 steps vs 1 fork x 3 steps, each step a scripted worker
that takes 1 s (target <= 1.15x): forks run side by side, so four take about as long as one.

    python bench/explore_parallel.py                                  4 forks, 3 steps of 1 s
    python bench/explore_parallel.py --forks 2 --steps 1 --step-seconds 0.5   (the tests)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from _common import BIN, ENV, PYTHON, bench_plan, git, workdir

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "conductor" / "resources" / "fixtures" / "agents" / "scripted.py"
STEPS = 3
FORKS = 4
STEP_SECONDS = 1.0


def run(root: Path, forks: int, steps: int, step_seconds: float) -> float:
    script = {
        f"step_{s + 1:03d}": [{"sleep": step_seconds}, {"write": {f"out_{s}.txt": "x\n"}}]
        for s in range(steps)
    }
    # outside the project: in the sandbox an agent sees the worktree, not the user's checkout
    script_file = root.parent / "script.json"
    script_file.write_text(json.dumps(script))
    (root / f"plan{forks}.yaml").write_text(yaml.safe_dump(bench_plan(forks, steps)))
    command = f"{PYTHON} {AGENT} {script_file}"
    args = (
        ["explore", "--plan", f"plan{forks}.yaml", "--no-spawn", "--jobs", str(forks)]
        if forks > 1
        else ["build", "--plan", f"plan{forks}.yaml"]
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "conductor"), *args, "--exec", command, "--yes"],
        cwd=root,
        env=ENV,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"conductor failed: {proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forks", type=int, default=FORKS, help=f"forks explored (default {FORKS})")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"steps in each fork (default {STEPS})")
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=STEP_SECONDS,
        help=f"how long each step's worker takes (default {STEP_SECONDS:g})",
    )
    args = parser.parse_args()
    forks, steps, seconds = args.forks, args.steps, args.step_seconds
    if forks < 2 or steps < 1 or seconds <= 0:
        parser.error("--forks takes 2 or more, --steps 1 or more, --step-seconds a positive time")
    root = workdir("explore") / "project"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("bench\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    one = run(root, 1, steps, seconds)
    many = run(root, forks, steps, seconds)
    ratio = many / one
    verdict = "ok" if ratio <= 1.15 else "OVER TARGET"
    print(f"explore: {forks} forks x {steps} steps ({seconds:g} s worker per step) vs 1 fork x {steps} steps")
    print(f"  1 fork:  {one:6.2f} s")
    print(f"  {forks} forks: {many:6.2f} s")
    print(f"  ratio:   {ratio:6.2f}x   (target <= 1.15x: {verdict})")


if __name__ == "__main__":
    main()
