"""What a worker's claim costs (the atomic `git push --force-with-lease` of a claim ref, through
`Queue.create`) on a remote that has seen many plans, against an empty queue. Goal (issue 13):
within 1.5x of the empty queue.

Remotes compared (local bare repositories, their refs packed as `git gc` leaves them):
  empty             the branch only
  finished+cleanup  10,000 finished plans' queue refs (task, claim, result each) created and
                    then removed as the coordinator's cleanup removes them: what the queue holds
                    after them (nothing)
  plan logs         10,000 refs of another kind under refs/conductor/plans/ (plans' logs, if
                    a team pushes them to the same remote), each its own commit
  plan logs+fetched the same, with the worker's clone having fetched them too
  plan logs archived the same logs after `conductor archive` and a `git push --prune`: one
                    archive ref keeps them all (a push receives every ref the remote has,
                    so what is left live decides a claim's cost)
  no cleanup        the 30,000 queue refs of 10,000 finished plans left in place (how the
                    queue was before its cleanup): for comparison, not judged

    python bench/claim_cost.py            10,000 plans, the median of 21 claims each
    python bench/claim_cost.py --quick    1,000 plans, 5 claims each
    python bench/claim_cost.py --plans 300 --claims 3    (the tests: still two archive commits)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV, git, workdir

from conductor.executors.queue import Queue
from conductor.ledger import refs

TARGET = 1.5
SAMPLE = 20  # finished plans whose queue refs the bench removes through Queue.delete


def remote_with(root: Path, name: str) -> tuple[Path, Path]:
    """A bare remote with one commit on main, and a worker's clone of it."""
    seed = root / "seed"
    if not seed.exists():
        seed.mkdir()
        git(seed, "init", "-q", "-b", "main")
        (seed / "README.md").write_text("bench\n")
        git(seed, "add", "-A")
        git(seed, "commit", "-q", "-m", "base")
    remote = root / f"{name}.git"
    git(root, "clone", "-q", "--bare", str(seed), str(remote))
    clone = root / f"{name}-worker"
    git(root, "clone", "-q", str(remote), str(clone))
    return remote, clone


def packed(repo: Path, targets: dict[str, str], *, removed: Iterable[str] = ()) -> None:
    """`targets` (ref -> object) written into the repository's packed-refs and the `removed`
    refs taken out of it, as `git update-ref` and `git pack-refs --all` leave them, without the
    loose files and lock files between (thousands of refs in folders of their own cost seconds
    of file system work)."""
    path = repo / "packed-refs"
    entries: dict[str, list[str]] = {}  # ref -> its line, and its peeled line if it has one
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith("^"):
            entries[next(reversed(entries))].append(line)
        elif line and not line.startswith("#"):
            entries[line.split(" ", 1)[1]] = [line]
    for name, target in targets.items():
        if name in entries or (repo / name).exists():
            raise SystemExit(f"{name} exists in {repo} already")
        entries[name] = [f"{target} {name}"]
    for name in removed:
        del entries[name]
    lines = [line for name in sorted(entries) for line in entries[name]]
    # as git writes it: the refs added name commits, which peel to nothing
    path.write_text(
        "# pack-refs with: peeled fully-peeled sorted \n" + "".join(f"{line}\n" for line in lines)
    )


def update_refs(repo: Path, lines: list[str]) -> None:
    subprocess.run(
        ["git", "update-ref", "--stdin"], cwd=repo, input="".join(lines), text=True, env=ENV, check=True
    )


def slots(plans: int) -> list[str]:
    return [refs.work_slot(f"done-{n:05d}", "main", "step_001", 1) for n in range(plans)]


def queue_refs(remote: Path, plans: int) -> None:
    """The task, claim and result refs of `plans` finished plans, packed."""
    head = git(remote, "rev-parse", "main").strip()
    packed(remote, {f"{slot}/{kind}": head for slot in slots(plans) for kind in refs.WORK_KINDS})


def cleaned_up(remote: Path, clone: Path, plans: int) -> None:
    """Queue refs of `plans` finished plans, packed, then removed: the last SAMPLE of them the way
    the coordinator removes them (`Queue.delete`, an attempt's refs a push), the others straight
    in the remote (10,000 pushes would take minutes; they leave the same packed-refs)."""
    queue_refs(remote, plans)
    queue = Queue(clone, "origin")
    found = queue.listing()
    names = sorted(found)
    cut = len(names) - 3 * SAMPLE
    packed(remote, {}, removed=names[:cut])
    for start in range(cut, len(names), 3):
        if not queue.delete({ref: found[ref] for ref in names[start : start + 3]}):
            raise SystemExit("the cleanup push was refused")
    left = git(remote, "for-each-ref", refs.WORK_PREFIX)
    if left:
        raise SystemExit(f"queue refs left after the cleanup: {len(left.splitlines())}")


def plan_logs(remote: Path, clone: Path, plans: int, *, fetched: bool) -> None:
    """`plans` refs under refs/conductor/plans/, each its own commit (packed); `fetched` into the
    clone. The commits are imported on one scratch ref, each a root (`reset`), and their ids read
    from fast-import's marks."""
    scratch, marks = "refs/bench/import", remote / "bench-marks"
    stream = []
    for n in range(plans):
        stream.append(
            f"reset {scratch}\ncommit {scratch}\nmark :{n + 1}\n"
            f"committer Bench <bench@example.com> {1700000000 + n} +0000\ndata 9\nplan {n:04d}\n\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        cwd=remote,
        input="".join(stream),
        text=True,
        env=ENV,
        check=True,
    )
    git(remote, "update-ref", "-d", scratch)
    (remote / "refs" / "bench").rmdir()  # the scratch ref's folder, which git leaves
    made = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    packed(remote, {f"refs/conductor/plans/done-{n:05d}": made[f":{n + 1}"] for n in range(plans)})
    if fetched:
        git(clone, "fetch", "-q", "origin", "refs/conductor/plans/*:refs/conductor/plans/*")


def archived_logs(remote: Path, clone: Path, plans: int) -> None:
    """The plan logs of `plan_logs`, folded as `conductor archive` folds them (a chain of
    archive commits whose parents keep the logs' tips, 250 a commit) and pushed with --prune:
    the live log refs gone, one archive ref left."""
    plan_logs(remote, clone, plans, fetched=False)
    names = [f"refs/conductor/plans/done-{n:05d}" for n in range(plans)]
    stream = []
    for i, start in enumerate(range(0, plans, 250)):
        stream.append(
            f"commit {refs.ARCHIVE}\ncommitter Bench <bench@example.com> {1800000000 + i} +0000\n"
            f"data 8\narchive\n"
        )
        if i == 0:
            stream.append(f"from {names[0]}\n")
        stream.extend(f"merge {name}\n" for name in names[start : start + 250] if i or name != names[0])
        stream.append("\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=remote, input="".join(stream), text=True, env=ENV, check=True
    )
    packed(remote, {}, removed=names)
    git(remote, "pack-refs", "--all")  # the archive ref


def claim_once(remote: Path, clone: Path, n: int) -> float:
    """Queue a task (not timed), claim it (timed), and remove both again (not timed)."""
    head = git(clone, "rev-parse", "HEAD").strip()
    slot = refs.work_slot("bench-plan", "main", f"step_{n:03d}", 1)
    update_refs(remote, [f"create {slot}/task {head}\n"])
    queue = Queue(clone, "origin")
    claim = queue.commit({"worker.json": b'{"name": "bench"}'}, parent=head, message="claimed by bench\n")
    start = time.perf_counter()
    if not queue.create(f"{slot}/claim", claim):
        raise SystemExit("the claim lost: nobody else claims here")
    seconds = time.perf_counter() - start
    update_refs(remote, [f"delete {slot}/task\n", f"delete {slot}/claim\n"])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 plans, 5 claims each")
    parser.add_argument(
        "--plans", type=int, help="finished plans on each remote (default 10,000; --quick: 1,000)"
    )
    parser.add_argument("--claims", type=int, help="claims timed on each remote (default 21; --quick: 5)")
    args = parser.parse_args()
    plans, repeat = (1000, 5) if args.quick else (10000, 21)
    plans, repeat = args.plans or plans, args.claims or repeat
    if plans < SAMPLE or plans > 99_999 or repeat < 1:
        parser.error(
            f"--plans takes {SAMPLE} to 99,999 plans ({SAMPLE} of them are cleaned up by pushes);"
            " --claims 1 or more"
        )
    root = workdir("claims")
    setups = {}
    setups["empty"] = remote_with(root, "empty")
    setups["finished+cleanup"] = remote_with(root, "cleanup")
    cleaned_up(*setups["finished+cleanup"], plans)
    setups["plan logs"] = remote_with(root, "logs")
    plan_logs(*setups["plan logs"], plans, fetched=False)
    setups["plan logs+fetched"] = remote_with(root, "logs-fetched")
    plan_logs(*setups["plan logs+fetched"], plans, fetched=True)
    setups["plan logs archived"] = remote_with(root, "archived")
    archived_logs(*setups["plan logs archived"], plans)
    setups["no cleanup"] = remote_with(root, "kept")
    queue_refs(setups["no cleanup"][0], plans)
    for remote, _ in setups.values():  # as `git gc` leaves a remote: refs packed, a commit-graph
        git(remote, "commit-graph", "write", "--reachable")
    samples: dict[str, list[float]] = {name: [] for name in setups}
    for remote, clone in setups.values():  # warm up
        claim_once(remote, clone, 999)
    for n in range(repeat):  # interleaved, so that noise on the machine hits them alike
        for name, (remote, clone) in setups.items():
            samples[name].append(claim_once(remote, clone, n))
    base = statistics.median(samples["empty"])
    print(f"claim cost: a claim push on a remote after {plans:,} finished plans vs an empty queue")
    print(f"(median of {repeat} claims each; refs packed on the remote)")
    print(f"  {'remote':<18} {'refs on it':>10} {'claim ms':>9} {'ratio':>6}  goal <= {TARGET}x")
    failed = []
    for name, (remote, _) in setups.items():
        count = len(git(remote, "for-each-ref").splitlines())
        median = statistics.median(samples[name])
        ratio = median / base
        judged = name in ("finished+cleanup", "plan logs", "plan logs+fetched", "plan logs archived")
        verdict = ("ok" if ratio <= TARGET else "OVER TARGET") if judged else "(for comparison)"
        if judged and ratio > TARGET:
            failed.append(f"{name}: {ratio:.2f}x")
        verdict = "" if name == "empty" else verdict
        print(f"  {name:<18} {count:>10,} {median * 1000:>9.1f} {ratio:>5.2f}x  {verdict}")
    print("result: " + ("every goal met" if not failed else "missed: " + "; ".join(failed)))


if __name__ == "__main__":
    main()
