"""The record moves of one step in the fork log's tree: which files each transition adds, moves
and removes (docs/storage.md lists the paths). Each function returns the change the ledger
applies to the current snapshot in one append; none of them reads or writes anything else.

    hand_out      task.created        the task into pending/, earlier copies cleared
    claim         task.claimed        pending/ -> in_progress/
    receive       result.received     result and explanation into in_progress/ (with
                                      executor_output: what the command printed, in evidence/)
    accept        task.completed      in_progress/ -> completed/, verdict, logs, provenance
    fail          task.rejected…      pending/ or in_progress/ -> failed/, kept as evidence
    refuse_late   result.refused      a late result, kept as evidence only

and with every event the runner records, `fold_state`: the fork's state after it (`state.json`
with the open steps, `state/<step>.json` for a step as it completes, and once more with the
event after its last, whose commit it lists), which `read_state` gives back from a tip without
reading the events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from conductor.engine.state import ForkState, Phase, fork_record, restore, step_record
from conductor.ledger.snapshot import Snapshot
from conductor.models.event import Event
from conductor.models.layout import (
    BUNDLE,
    COMPLETED,
    EXPLANATION,
    FAILED,
    HANDED,
    IN_PROGRESS,
    OPEN_DIRS,
    PENDING,
    PROVENANCE,
    RESULT,
    STATE_DIR,
    STATE_FILE,
    TASK,
    AttemptPaths,
    StepPaths,
)

Changes = dict[str, bytes | str | None]
Move = Callable[[Snapshot | None], Changes]


def _current(snapshot: Snapshot | None) -> Snapshot:
    if snapshot is None:  # every fork log starts with fork.created
        raise AssertionError("a step's records move within an existing fork log")
    return snapshot


def hand_out(step: str, attempt: int, *, task: str, policy: str, confidence: str) -> Move:
    """The new attempt's task in pending/; whatever an earlier attempt left in the step
    directories goes (it is kept under evidence/)."""
    paths = StepPaths(step)

    def move(snapshot: Snapshot | None) -> Changes:
        out: Changes = {paths.record(PENDING, TASK): task}
        for directory in (IN_PROGRESS, COMPLETED, FAILED):
            for suffix in HANDED:
                path = paths.record(directory, suffix)
                if snapshot is not None and snapshot.exists(path):
                    out[path] = None
        out[paths.policy] = policy
        out[paths.attempt(attempt).confidence] = confidence
        return out

    return move


def request_approval(step: str, *, assessment: str) -> Changes:
    return {StepPaths(step).assessment: assessment}


def claim(step: str) -> Move:
    paths = StepPaths(step)

    def move(snapshot: Snapshot | None) -> Changes:
        return {
            paths.record(PENDING, TASK): None,
            paths.record(IN_PROGRESS, TASK): _current(snapshot).read(paths.record(PENDING, TASK)),
        }

    return move


def receive(step: str, *, result: bytes, explanation: str) -> Changes:
    paths = StepPaths(step)
    return {paths.record(IN_PROGRESS, RESULT): result, paths.record(IN_PROGRESS, EXPLANATION): explanation}


OUTPUT_KEEP = 4096
"""Bytes of each stream the executor's process printed that the ledger keeps: the end."""


def executor_output(
    step: str, attempt: int, output: Mapping[str, str], redact: Callable[[str], str]
) -> dict[str, str]:
    """What the executor's process printed, as the attempt's evidence (`stdout.log`,
    `stderr.log`): redacted first (a secret cut in half would not be recognized), then the
    last OUTPUT_KEEP bytes, after a line that says the rest was not kept."""
    paths = AttemptPaths(step, attempt)
    out: dict[str, str] = {}
    for stream, text in output.items():
        if not text:
            continue
        redacted = redact(text)
        data = redacted.encode("utf-8", "replace")
        if len(data) > OUTPUT_KEEP:
            redacted = "[... earlier output not kept ...]\n" + data[-OUTPUT_KEEP:].decode("utf-8", "ignore")
        out[paths.output(stream)] = redacted
    return out


def accept(
    step: str,
    attempt: int,
    *,
    verdict: str,
    statement: bytes,
    bundle: str | None,
    logs: Mapping[str, str],
) -> Move:
    """in_progress/ -> completed/, with the verdict, the verify logs and the provenance."""
    paths = StepPaths(step)

    def move(snapshot: Snapshot | None) -> Changes:
        current = _current(snapshot)
        out: Changes = {}
        for suffix in HANDED:
            out[paths.record(COMPLETED, suffix)] = current.read(paths.record(IN_PROGRESS, suffix))
            out[paths.record(IN_PROGRESS, suffix)] = None
        out[paths.attempt(attempt).verdict] = verdict
        out[paths.record(COMPLETED, PROVENANCE)] = statement
        if bundle is not None:
            out[paths.record(COMPLETED, BUNDLE)] = bundle
        out.update(logs)
        return out

    return move


def fail(step: str, attempt: int, *, verdict: str, patch: bytes, logs: Mapping[str, str]) -> Move:
    """pending/ or in_progress/ -> failed/; the attempt's own records also stay in its evidence."""
    paths = StepPaths(step)
    evidence = paths.attempt(attempt)

    def move(snapshot: Snapshot | None) -> Changes:
        current = _current(snapshot)
        out: Changes = {}
        for suffix in HANDED:
            for directory in OPEN_DIRS:
                source = paths.record(directory, suffix)
                data = current.read(source)
                if data is not None:
                    out[source] = None
                    out[paths.record(FAILED, suffix)] = data
                    out[evidence.kept(suffix)] = data
        out[evidence.verdict] = verdict
        if patch:
            out[evidence.patch] = patch
        out.update(logs)
        return out

    return move


def refuse_late(step: str, attempt: int, *, result: bytes, explanation: str) -> Changes:
    """A result for an attempt that is over: evidence, nothing else moves."""
    late = AttemptPaths(step, attempt)
    return {late.late(RESULT): result, late.late(EXPLANATION): explanation}


def open_task(snapshot: Snapshot, step: str) -> bytes | None:
    """The task of the current attempt, while it is pending or in progress."""
    paths = StepPaths(step)
    for directory in OPEN_DIRS:
        raw = snapshot.read(paths.record(directory, TASK))
        if raw is not None:
            return raw
    return None


def filed(snapshot: Snapshot, step: str, directory: str, suffixes: tuple[str, ...]) -> dict[str, bytes]:
    """A finished step's records in `directory`, by suffix, as the ledger has them."""
    paths = StepPaths(step)
    return {
        suffix: data
        for suffix in suffixes
        if (data := snapshot.read(paths.record(directory, suffix))) is not None
    }


def fold_state(previous: Snapshot | None, event: Event, known: ForkState) -> Changes:
    """The folded state files after `event`, for the commit that records it. When `previous`
    holds the state of its own event, only `state.json` changes, and the files of the completed
    steps of `event` and of the previous event (which gains that event's commit): a step costs
    the same however many came before. Else, when `known` (the runner's fold) is the state of
    `previous`, every file is written from it (the first event, or one after a writer that
    keeps no state); else none is, and readers fold the log."""
    full = True
    base: ForkState | None = None
    touched = {event.step, previous.event.step if previous is not None else None} - {None}
    if previous is not None:
        record = json_object(previous.read(STATE_FILE))
        if record is not None:
            finished: dict[str, Any] = {}
            for step in touched:
                if step is not None and step not in (record.get("steps") or {}):
                    found = json_object(previous.read(StepPaths(step).state))  # a later event
                    if found is not None:
                        finished[step] = found
            base = restore(
                known.plan,
                known.fork,
                record,
                finished,
                seq=previous.event.seq,
                step=previous.event.step,
                commit=previous.event.commit,
            )
            full = base is None
    if base is None:
        if known.last_seq != (previous.event.seq if previous is not None else 0):
            return {}
        base = known
    after = base.after(event)
    out: Changes = {STATE_FILE: _dumps(fork_record(after))}
    for step_id, st in after.steps.items():
        if st.phase is Phase.COMPLETED and (full or step_id in touched):
            out[StepPaths(step_id).state] = _dumps(step_record(st))
    return out


def read_state(
    snapshot: Snapshot, plan: str, fork: str, *, only: Iterable[str] | None = None
) -> ForkState | None:
    """The fork's state as the snapshot keeps it, or None when it keeps none that was written
    with its own event (then fold the log: conductor.engine.state.ForkState.replay). With
    `only`, of the completed steps only those are read (the others are left out of the state):
    what one step's reader needs costs the same however many steps the fork has."""
    record = json_object(snapshot.read(STATE_FILE))
    if record is None or record.get("seq") != snapshot.event.seq:
        return None
    names = snapshot.listdir(STATE_DIR) if only is None else [f"{step}.json" for step in only]
    finished = {}
    for name in names:
        raw = snapshot.read(f"{STATE_DIR}/{name}")
        if raw is None and only is not None:
            continue  # a step not completed (or not begun)
        data = json_object(raw)
        if data is None or not name.endswith(".json"):
            return None
        finished[name.removesuffix(".json")] = data
    event = snapshot.event
    return restore(plan, fork, record, finished, seq=event.seq, step=event.step, commit=event.commit)


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def json_object(raw: bytes | None) -> dict[str, Any] | None:
    """A record's JSON object, or None when it is missing, unreadable or not an object."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
