"""Ledger event append vs a raw pygit2 commit of the same tree change (target <= 2x).

Both sides write one small record into a snapshot that already holds many records, make a
commit and move a ref; the ledger adds the event message, the format entry and the
compare-and-swap.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pygit2
from _common import git, interleaved, report, workdir
from pygit2.enums import FileMode

from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType

EVENTS = 100
PRELOAD = 200  # records already in the snapshot


def main() -> None:
    root = workdir("append")
    git(root, "init", "-q")
    ledger = Ledger(root)
    ref = refs.fork_log("bench", "main")
    ledger.append(
        ref,
        Event(EventType.NOTE, plan="bench", fork="main", summary="preload"),
        {f"completed/step_{i:03d}.result.json": f'{{"n": {i}}}\n' for i in range(PRELOAD)},
    )
    repo = pygit2.Repository(str(root))
    raw_ref = "refs/bench/raw"
    base_tree = repo.references[ref].peel(pygit2.Commit).tree
    sig = pygit2.Signature("Bench", "bench@example.com")
    first = repo.create_commit(None, sig, sig, "raw", base_tree.id, [])
    repo.references.create(raw_ref, first)
    counter = iter(range(10**9))

    def ours() -> None:
        for _ in range(EVENTS):
            i = next(counter)
            ledger.append(
                ref,
                Event(
                    EventType.NOTE,
                    plan="bench",
                    fork="main",
                    step="step_001",
                    attempt=1,
                    summary=f"event {i}",
                    state="running",
                ),
                {"evidence/step_001.out": f"output {i}\n"},
            )

    def raw() -> None:
        for _ in range(EVENTS):
            i = next(counter)
            tip = repo.references[raw_ref].peel(pygit2.Commit)
            root_builder = repo.TreeBuilder(tip.tree)
            sub = repo[tip.tree["evidence"].id] if "evidence" in tip.tree else None
            sub_builder = repo.TreeBuilder(sub) if sub is not None else repo.TreeBuilder()
            sub_builder.insert("step_001.out", repo.create_blob(f"output {i}\n".encode()), FileMode.BLOB)
            root_builder.insert("evidence", sub_builder.write(), FileMode.TREE)
            tree_id = root_builder.write()
            new = repo.create_commit(None, sig, sig, f"event {i}\n", tree_id, [tip.id])
            repo.references[raw_ref].set_target(new)

    ours_t, raw_t = interleaved(ours, raw, rounds=9)
    ours_t, raw_t = ours_t / EVENTS, raw_t / EVENTS
    report(
        f"ledger append vs raw pygit2 commit (per event, {PRELOAD} records in the snapshot)",
        ours_t,
        raw_t,
        2.0,
    )


if __name__ == "__main__":
    main()
