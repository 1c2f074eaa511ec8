"""`conductor explore` with 4 forks x 3 steps vs 1 fork x 3 steps, each step a scripted worker
that takes 1 s (target <= 1.15x): forks run side by side, so four take about as long as one."""

from __future__ import annotations

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


def run(root: Path, forks: int) -> float:
    script = {f"step_{s + 1:03d}": [{"sleep": 1.0}, {"write": {f"out_{s}.txt": "x\n"}}] for s in range(STEPS)}
    # outside the project: in the sandbox an agent sees the worktree, not the user's checkout
    script_file = root.parent / "script.json"
    script_file.write_text(json.dumps(script))
    (root / f"plan{forks}.yaml").write_text(yaml.safe_dump(bench_plan(forks, STEPS)))
    command = f"{PYTHON} {AGENT} {script_file}"
    args = (
        ["explore", "--plan", f"plan{forks}.yaml", "--no-spawn", "--jobs", str(FORKS)]
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
    root = workdir("explore") / "project"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("bench\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    one = run(root, 1)
    four = run(root, FORKS)
    ratio = four / one
    verdict = "ok" if ratio <= 1.15 else "OVER TARGET"
    print(f"explore: {FORKS} forks x {STEPS} steps (1 s worker per step) vs 1 fork x {STEPS} steps")
    print(f"  1 fork:  {one:6.2f} s")
    print(f"  {FORKS} forks: {four:6.2f} s")
    print(f"  ratio:   {ratio:6.2f}x   (target <= 1.15x: {verdict})")


if __name__ == "__main__":
    main()
