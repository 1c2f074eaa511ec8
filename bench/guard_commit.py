"""`git commit` of 1,000 staged files with the native guard hook vs with a hook that only
runs `python3 -c pass` (goal <= 1.5x, issue 13): what the guard costs a developer per commit.

The guard's policy is parsed once (the first, unmeasured commit) and cached; the measured
commits are the common case: the cache hit, nothing protected touched. Before issue 13 this
was 2.5-2.9x (PyYAML, pathspec, subprocess and dataclasses imported on every commit, Python
started with site processing)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV, PYTHON, git, interleaved, report, workdir

from conductor.runner.install.hooks import script

FILES = 1000
ROUNDS = 21
GOAL = 1.5
POLICY = "file_rules:\n  protected_patterns:\n    - '*.lock'\n    - 'migrations/*'\n    - 'secrets/**'\n"


def make_repo(name: str, hook: str) -> Path:
    root = workdir(name)
    git(root, "init", "-q")
    (root / ".conductor").mkdir()
    (root / ".conductor" / "policy.yaml").write_text(POLICY)
    write_files(root, 0)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", "base")
    hooks = root / ".git" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "pre-commit").write_text(hook)
    (hooks / "pre-commit").chmod(0o755)
    return root


def write_files(root: Path, n: int) -> None:
    for i in range(FILES):
        sub = root / f"pkg{i % 20}"
        sub.mkdir(exist_ok=True)
        (sub / f"mod{i}.py").write_text(f"x = {i} + {n}\n")


def commit_timer(root: Path) -> tuple[Callable[[], None], list[float]]:
    """A function that stages 1,000 changed files and times only the `git commit`."""
    samples: list[float] = []

    def run() -> None:
        write_files(root, len(samples) + 1)
        git(root, "add", "-A")
        start = time.perf_counter()
        proc = subprocess.run(["git", "commit", "-q", "-m", "change"], cwd=root, env=ENV, capture_output=True)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"commit failed in {root}: {proc.stderr.decode()}")

    return run, samples


def main() -> None:
    guarded = make_repo("guard", script("pre-commit", python=PYTHON))
    plain = make_repo("plain", f"#!/bin/sh\nexec {PYTHON} -c pass\n")
    try:
        ours, ours_samples = commit_timer(guarded)
        base, base_samples = commit_timer(plain)
        interleaved(ours, base, rounds=ROUNDS)
    finally:
        for root in (guarded, plain):
            shutil.rmtree(root, ignore_errors=True)
    report(
        f"git commit of {FILES} staged files: guard hook vs `python3 -c pass` hook",
        statistics.median(ours_samples[1:]),
        statistics.median(base_samples[1:]),
        GOAL,
    )


if __name__ == "__main__":
    main()
