"""Conductor's peak memory while it rejects files too big to check (issue 19, point 7): a 2 GiB
file, a 50 GiB sparse file, and a remote worker's 512 MiB blob of zeros (under a megabyte on the
wire). Each is a real `conductor build` of one step (`--exec`, or `--remote` with a `conductor
worker` in another clone), and its peak RSS — the process and every command it waited for (git,
the agent), from wait4 — is set against the same run's honest one-file step of the same kind.
Goal: each at most 2x.

The 2 GiB file is 2 GiB by its size with data in a few places (a few writes and os.truncate), so
the bench needs almost no disk; Conductor looks at its size, not its blocks, before it reads
anything, so the cost is the same. `--full` writes all 2 GiB (2 GiB of disk, and a few seconds).
The 50 GiB file and the worker's zeros are sparse.

The queue's remote is a bare repository on this machine, so the git that serves the
coordinator's fetch runs as its child; the remote streams big blobs (core.bigFileThreshold), as
a server's memory is not Conductor's. The remote and the worker's clone compress at level 1, and
the worker's clone sends big blobs whole, without looking for deltas (core.bigFileThreshold), so
the worker's 512 MiB take seconds, not half a minute: neither is what is measured.

    python bench/memory_bounds.py            the three cases
    python bench/memory_bounds.py --quick    a 128 MiB worker blob (for the tests)
    python bench/memory_bounds.py --full     the 2 GiB file written in full
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml
from _common import BIN, ENV, PYTHON, git, interruptible, workdir

GOAL = 2.0
GIB, MIB = 1 << 30, 1 << 20
REJECTED = "over behavior.max_file_bytes"
HONEST = "printf 'x = 1\\n' > new.py"


def sparse(path: str, size: int) -> str:
    """Shell: `path`, a file of `size` bytes that takes no disk."""
    return f'{PYTHON} -c \'import os; open("{path}", "wb").close(); os.truncate("{path}", {size})\''


def two_gib(full: bool) -> str:
    """Shell: a 2 GiB file; real data throughout with `full`, else 1 MiB of it every 128 MiB."""
    if full:
        code = (
            'import os; b = os.urandom(8 << 20); f = open("big.bin", "wb"); [f.write(b) for _ in range(256)]'
        )
    else:
        code = (
            'import os; f = open("big.bin", "wb");'
            " [(f.seek(i << 27), f.write(os.urandom(1 << 20))) for i in range(16)]; f.truncate(2 << 30)"
        )
    return f"{PYTHON} -c '{code}'"


@dataclass
class Run:
    peak: int  # bytes
    seconds: float
    code: int
    out: str


def peak_of(args: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run `args` to its end: its peak RSS (it and every descendant it waited for), from wait4."""
    log = cwd.parent / "conductor.log"
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(usage.ru_maxrss * 1024, time.perf_counter() - start, proc.returncode, log.read_text())


def project(root: Path) -> tuple[Path, dict[str, str]]:
    """A repository with a one-step plan (one attempt), and the environment to run it in (its
    worktrees under `root`)."""
    repo = root / "project"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "README.md").write_text("bench\n")
    step = {"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["**"]}
    plan = {"goal": "bench", "policy": {"behavior": {"max_attempts": 1}}, "steps": [step]}
    (repo / "plan.yaml").write_text(yaml.safe_dump(plan))
    # the agents may write files this big (limits.file_size is 4G by default): Conductor must cope
    (repo / ".conductor").mkdir()
    (repo / ".conductor" / "policy.yaml").write_text("limits:\n  file_size: 64G\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo, {**ENV, "XDG_STATE_HOME": str(root / "state")}


def local(root: Path, agent: str) -> Run:
    """`conductor build` of the plan with `agent` (a shell command) doing the step."""
    repo, env = project(root)
    return peak_of(
        [str(BIN / "conductor"), "build", "--plan", "plan.yaml", "--exec", agent, "--yes"], repo, env
    )


def remote(root: Path, agent: str) -> Run:
    """The same step through the queue: the coordinator's `conductor build --remote`, and a
    `conductor worker` in another clone running `agent`."""
    repo, env = project(root)
    bare = root / "remote.git"
    git(root, "init", "-q", "--bare", str(bare))
    git(bare, "config", "core.bigFileThreshold", "1m")  # the server streams (see the docstring)
    git(bare, "config", "core.compression", "1")  # the other machines compress fast: not measured
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "HEAD")
    clone = root / "worker"
    git(root, "clone", "-q", str(bare), str(clone))
    git(clone, "config", "core.compression", "1")
    git(clone, "config", "core.bigFileThreshold", "1m")  # its push looks for no deltas in the blob
    worker_log = (root / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(BIN / "conductor"), "worker", "--remote", "origin", "--exec", agent, "--name", "bench"],
        cwd=clone,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        preexec_fn=interruptible,
    )
    try:
        args = [str(BIN / "conductor"), "build", "--plan", "plan.yaml", "--remote", "origin", "--yes"]
        return peak_of(args, repo, env)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 128 MiB worker blob")
    parser.add_argument("--full", action="store_true", help="write the 2 GiB file in full (2 GiB of disk)")
    args = parser.parse_args()
    blob = (128 if args.quick else 512) * MIB
    root = workdir("memory")
    try:
        honest = local(root / "honest", HONEST)
        big_name = "2 GiB file" + ("" if args.full else " (data in 16 MiB of it)")
        big = local(root / "big", f"{HONEST}; {two_gib(args.full)}")
        sparse_run = local(root / "sparse", f"{HONEST}; {sparse('big.bin', 50 * GIB)}")
        honest_remote = remote(root / "honest-remote", HONEST)
        blob_run = remote(root / "blob", f"{HONEST}; {sparse('zeros.bin', blob)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    if honest.code != 0 or honest_remote.code != 0:
        failed = honest if honest.code != 0 else honest_remote
        raise SystemExit(f"the honest step failed:\n{failed.out[-3000:]}")
    rows = [
        ("honest one-file step", honest, honest),
        (big_name, big, honest),
        ("50 GiB sparse file", sparse_run, honest),
        ("honest one-file step, remote", honest_remote, honest_remote),
        (f"{blob // MIB} MiB worker blob of zeros", blob_run, honest_remote),
    ]
    print("peak RSS of `conductor build` (and what it ran) while rejecting a file too big to check")
    print(f"  goal: each <= {GOAL:g}x the honest one-file step of the same kind, measured in this run")
    print(f"  {'case':<40} {'peak RSS':>10} {'ratio':>7} {'time':>7}  verdict")
    missed = []
    for name, run, base in rows:
        ratio = run.peak / base.peak
        if run is base:
            verdict = "(baseline)"
        elif REJECTED not in run.out:
            verdict = "NOT REJECTED"
            missed.append(f"{name}: not rejected for its size")
        elif ratio > GOAL:
            verdict = "OVER GOAL"
            missed.append(f"{name}: {ratio:.2f}x")
        else:
            verdict = "ok"
        print(f"  {name:<40} {run.peak / MIB:>7.1f} MiB {ratio:>6.2f}x {run.seconds:>6.1f}s  {verdict}")
    if not args.full:
        print("  (--full writes the 2 GiB file in full: the same peak, since its size is looked at first)")
    print("result: " + ("every goal met" if not missed else "missed: " + "; ".join(missed)))


if __name__ == "__main__":
    main()
