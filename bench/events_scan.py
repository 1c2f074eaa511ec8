"""`conductor events` over 100,000 events vs `git log` of the same refs (target <= 3x).

The events are written straight through pygit2 in the ledger's format (appending 100k
events one by one through the ledger would only make the set-up slow), then packed the
way `git gc` leaves a long-lived repository. Both sides print every event to /dev/null.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pygit2
from _common import BIN, ENV, git, interleaved, report, workdir

from conductor.ledger import format as ledger_format
from conductor.ledger import message, refs
from conductor.models.event import Event, EventType

EVENTS = 100_000
FORKS = 10
KINDS = [EventType.TASK_CREATED, EventType.TASK_CLAIMED, EventType.RESULT_RECEIVED, EventType.TASK_COMPLETED]


def populate(root: Path) -> None:
    repo = pygit2.Repository(str(root))
    builder = repo.TreeBuilder()
    builder.insert(
        ledger_format.FORMAT_FILE, repo.create_blob(ledger_format.encode()), pygit2.enums.FileMode.BLOB
    )
    tree = builder.write()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    per_fork = EVENTS // FORKS
    for f in range(FORKS):
        parent: list[pygit2.Oid] = []
        for i in range(per_fork):
            step = i // 4 + 1
            moment = start + dt.timedelta(milliseconds=i * FORKS + f)
            event = Event(
                KINDS[i % 4],
                plan="bench",
                fork=f"fork-{f}",
                step=f"step_{step:03d}",
                attempt=1,
                summary=f"event {i} of fork {f}",
                state="running",
                seq=i + 1,
                time=message.format_time(moment),
            )
            sig = pygit2.Signature("Bench", "bench@example.com", int(moment.timestamp()), 0)
            commit = repo.create_commit(None, sig, sig, message.encode(event), tree, parent)
            parent = [commit]
        repo.references.create(refs.fork_log("bench", f"fork-{f}"), parent[0])
    git(root, "gc", "-q")


def main() -> None:
    root = workdir("events")
    git(root, "init", "-q")
    print(f"writing {EVENTS} events...", file=sys.stderr)
    populate(root)
    conductor = str(BIN / "conductor")

    def events() -> None:
        with open("/dev/null", "w") as sink:
            subprocess.run([conductor, "events"], cwd=root, env=ENV, check=True, stdout=sink)

    def git_log() -> None:
        with open("/dev/null", "w") as sink:
            subprocess.run(
                ["git", "log", "--glob=refs/conductor/*"], cwd=root, env=ENV, check=True, stdout=sink
            )

    ours, base = interleaved(events, git_log, rounds=5)
    report(
        f"conductor events ({EVENTS} events, {FORKS} logs) vs git log of the same refs",
        ours,
        base,
        3.0,
        unit="s",
        scale=1,
    )


if __name__ == "__main__":
    main()
