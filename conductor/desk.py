"""The handoff desk: what an agent does at the mailbox, as functions — see the tasks waiting,
claim one, read it, hand in its result — for every way an agent reaches Conductor. The handoff
executor judges a result an agent wrote as a file with `problems`; `conductor mcp`'s tools
(docs/mcp.md) call the others, which check a result with the same function before they put
it in the mailbox as a file agent would (explanation first, then the result, each renamed into
place). So whoever claims a task and hands in its result, the run waiting for it records the
same claim and the same result.

Every name a caller gives (plan, fork, step) is checked before it becomes part of a path, and
every result is bounded and validated (models/untrusted.py, models/resultcheck.py) before
anything is written: a refusal is an UntrustedError listing every problem.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conductor.errors import ConductorError
from conductor.mailbox import Found, Mailbox, plan_folder, read_regular
from conductor.models import resultcheck, untrusted
from conductor.models.layout import COMPLETED, EXPLANATION, FAILED, IN_PROGRESS, PENDING, RESULT, TASK
from conductor.models.plan import is_valid_id
from conductor.models.task import TASK_ID_PATTERN, TaskFile

_STEP = re.compile(TASK_ID_PATTERN)
TASK_LIMIT = 4 * 1024 * 1024
"""The largest task file the desk reads back (Conductor wrote it: a task is a few KiB)."""


@dataclass(frozen=True)
class Ticket:
    """A task in the mailbox, waiting (pending) or claimed (in progress)."""

    plan: str
    fork: str
    step: str
    claimed: bool
    path: Path  # the task file


def check_names(plan: str, fork: str, step: str | None = None) -> None:
    """Refuse a plan, fork or step that is not one Conductor could have named (so a name can
    never climb out of the mailbox: `..`, `/`, a drive)."""
    wrong = []
    for what, value in (("plan", plan), ("fork", fork)):
        if not isinstance(value, str) or not is_valid_id(value):
            wrong.append(
                f"{what}: {untrusted.shown(value)} is not a {what} id (lowercase letters, digits, . _ -)"
            )
    if step is not None and (not isinstance(step, str) or not _STEP.match(step)):
        wrong.append(f"step: {untrusted.shown(step)} is not a step (step_001, step_002, …)")
    if wrong:
        raise untrusted.UntrustedError(wrong, hint="take the names from the list of waiting tasks")


def open_tasks(handoff: Path, *, plan: str | None = None, claimed: bool = False) -> list[Ticket]:
    """The tasks waiting in the mailbox (with `claimed`, those claimed too), plan by plan, fork by
    fork, step by step. Only names Conductor writes are looked at; links are never followed."""
    if plan is not None:
        check_names(plan, "main")
    found: list[Ticket] = []
    folders = [plan_folder(handoff, plan)] if plan is not None else _listed(handoff, "plan_")
    for plan_dir in folders:
        for fork_dir in _listed(plan_dir, "fork_"):
            for directory in (PENDING, IN_PROGRESS) if claimed else (PENDING,):
                for task in _listed(fork_dir / directory, "step_", suffix=TASK, folders=False):
                    step = task.name.removesuffix(TASK)
                    if _STEP.match(step):
                        ticket = Ticket(
                            plan_dir.name.removeprefix("plan_"),
                            fork_dir.name.removeprefix("fork_"),
                            step,
                            directory == IN_PROGRESS,
                            task,
                        )
                        found.append(ticket)
    return found


def _listed(folder: Path, prefix: str, *, suffix: str = "", folders: bool = True) -> list[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    wanted = []
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix) or not name.endswith(suffix):
            continue
        if folders and not (entry.is_dir(follow_symlinks=False) and is_valid_id(name.removeprefix(prefix))):
            continue
        if not folders and not entry.is_file(follow_symlinks=False):
            continue
        wanted.append(Path(entry.path))
    return wanted


def find(handoff: Path, plan: str, fork: str, step: str) -> Ticket:
    """The open task of `step`, claimed or not; an error saying where it went when there is none."""
    check_names(plan, fork, step)
    mailbox = Mailbox(handoff, plan, fork)
    for directory in (IN_PROGRESS, PENDING):
        path = mailbox.path(directory, step, TASK)
        if os.path.lexists(path):
            return Ticket(plan, fork, step, directory == IN_PROGRESS, path)
    finished = next((d for d in (COMPLETED, FAILED) if os.path.lexists(mailbox.path(d, step, TASK))), None)
    raise ConductorError(
        f"{plan}/{fork} {step}: no task waits for an agent"
        + (f" (it is in {finished}/: the step was judged)" if finished else ""),
        hint="list the waiting tasks again; a task waits only while its plan runs"
        " (`conductor resume PLAN` hands it out again)",
    )


def read(ticket: Ticket) -> TaskFile:
    """The task as it is in the mailbox, read through the bounded reader."""
    try:
        raw = read_regular(ticket.path, limit=TASK_LIMIT)
    except FileNotFoundError:
        raise ConductorError(
            f"{ticket.plan}/{ticket.fork} {ticket.step}: the task moved while it was read",
            hint="list the waiting tasks again",
        ) from None
    try:
        return TaskFile.from_json(raw)
    except ValueError as exc:  # pydantic's ValidationError is one
        raise ConductorError(
            f"{ticket.plan}/{ticket.fork} {ticket.step}: the task file in the mailbox is damaged ({exc})",
            hint="`conductor resume PLAN` writes it again from the ledger",
        ) from None


def claim(handoff: Path, plan: str, fork: str, step: str) -> Ticket:
    """Claim a waiting task as a file agent does: one atomic rename from pending/ to
    in_progress/. Of two claimers, one wins; the other gets an error saying so."""
    check_names(plan, fork, step)
    target = Mailbox(handoff, plan, fork).claim(step)
    if target is None:
        ticket = find(handoff, plan, fork, step)  # raises when there is no task at all
        if not ticket.claimed:  # handed out again between the look and the rename
            raise ConductorError(
                f"{plan}/{fork} {step}: the task changed while it was claimed", hint="claim it again"
            )
        raise ConductorError(
            f"{plan}/{fork} {step}: another agent claimed it first",
            hint="take another task from the list of waiting tasks",
        )
    return Ticket(plan, fork, step, True, target)


def result_attempt(raw: bytes) -> int | None:
    """The attempt a result claims to be for, when it says so clearly (read through the bounded
    reader: a result that cannot be read claims none, and is refused as malformed)."""
    try:
        value = untrusted.load_object(raw, name="result").get("attempt")
    except untrusted.UntrustedError:
        return None
    return value if type(value) is int else None


def problems(found: Found, step: str, attempt: int) -> list[str]:
    """Everything wrong with a result handed in for `step`'s `attempt` (empty: it is taken)."""
    if found.problem is not None:  # it names the file: the result or its explanation
        return [f"{found.directory}/{found.problem}"]
    return resultcheck.problems(found.result, name=found.name(step), step=step, attempt=attempt)


def hand_in(
    handoff: Path, plan: str, fork: str, step: str, *, result: bytes, explanation: bytes, limit: int
) -> Path:
    """Put the result of an open task in the mailbox, where a file agent writes it (`completed/`,
    or `failed/` for a result that says it failed), after the checks the run makes of a result
    file: every problem refuses it, with nothing written. A result for an older attempt is stale;
    a second result while one waits to be judged is refused (the first stays)."""
    ticket = find(handoff, plan, fork, step)
    attempt = read(ticket).attempt
    for data, suffix in ((result, RESULT), (explanation, EXPLANATION)):
        untrusted.check_size(
            len(data), limit=limit, name=f"{step}{suffix}", setting="behavior.max_result_bytes"
        )
    directory = FAILED if _status(result) == FAILED else COMPLETED
    name = f"{directory}/{step}{RESULT}"
    older = result_attempt(result)
    if older is not None and older < attempt:
        raise untrusted.UntrustedError(
            [f"{name}: attempt: is {older}, but the current attempt is {attempt}: a stale result"],
            hint="read the task again and answer its current attempt",
        )
    found = problems(Found(directory, result, ""), step, attempt)
    if found:
        raise untrusted.UntrustedError(found, hint="correct the result and hand it in again (schema: result)")
    mailbox = Mailbox(handoff, plan, fork)
    if any(os.path.lexists(mailbox.path(d, step, RESULT)) for d in (COMPLETED, FAILED)):
        raise ConductorError(
            f"{plan}/{fork} {step}: a result for attempt {attempt} is already handed in",
            hint="wait for the verdict; a refused result is set aside and a new one can follow",
        )
    write_new(mailbox.path(directory, step, EXPLANATION), explanation)
    target = mailbox.path(directory, step, RESULT)
    try:
        write_new(target, result)
    except FileExistsError:
        raise ConductorError(f"{plan}/{fork} {step}: another agent handed in a result first") from None
    return target


def _status(raw: bytes) -> str | None:
    try:
        value = untrusted.load_object(raw, name="result").get("status")
    except untrusted.UntrustedError:
        return None
    return value if isinstance(value, str) else None


def write_new(path: Path, data: bytes) -> None:
    """Write `path` whole (through a temporary file), and only if it does not exist yet: a link,
    not a rename, puts it in place, so of two writers one wins and the other gets FileExistsError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if path.name.endswith(EXPLANATION):
            os.replace(tmp, path)  # the explanation goes first; the result's appearance is the signal
        else:
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
