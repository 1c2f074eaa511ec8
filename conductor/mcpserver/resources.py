"""A plan's records as MCP resources, at stable URIs:

    conductor://plan/{plan}                                   the plan as `status --json` shows it
    conductor://plan/{plan}/fork/{fork}/step/{step}/task       the step's task file
    …/result, …/explanation                                   what its agent handed in
    …/verdict                                                  the verdict of its latest judged attempt
    …/provenance                                               the in-toto statement of the accepted step

Each is read from the ledger as recorded (the fork log's tip), never from the mailbox. A URI is
parsed strictly and its names checked before anything is read (desk.check_names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from conductor import desk
from conductor.commands.output.plans import plan_json
from conductor.errors import NotFoundError
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models.layout import DIRS, EXPLANATION, PROVENANCE, RESULT, RESULT_DIRS, TASK, StepPaths
from conductor.project import find_root
from conductor.runner.logs import forkstate
from conductor.runner.views.status import collect, plan_view

SCHEME = "conductor://"
PLAN = SCHEME + "plan/{plan}"
STEP = PLAN + "/fork/{fork}/step/{step}/{record}"
RECORDS = {  # a step's record: its suffix, where to look for it, and its media type
    "task": (TASK, DIRS, "application/json"),
    "result": (RESULT, RESULT_DIRS, "application/json"),
    "explanation": (EXPLANATION, RESULT_DIRS, "text/markdown"),
    "provenance": (PROVENANCE, RESULT_DIRS, "application/json"),
    "verdict": ("", (), "application/json"),
}
LISTED = 100  # plans list_resources names, the newest (the others are read by URI)
_PLAN = re.compile(r"conductor://plan/([^/]{1,200})")
_STEP = re.compile(r"conductor://plan/([^/]{1,200})/fork/([^/]{1,200})/step/([^/]{1,200})/([a-z]{1,20})")


@dataclass(frozen=True)
class Content:
    uri: str
    mime_type: str
    text: str


def plans() -> list[tuple[str, str]]:
    """The newest plans' summaries: (URI, goal)."""
    listing = collect(Ledger(find_root()), limit=LISTED)
    return [(PLAN.format(plan=view.plan), view.goal) for view in listing.plans]


def read(uri: str) -> Content:
    """The record at `uri`; NotFoundError (the URI named) when there is none."""
    if match := _PLAN.fullmatch(uri):
        return _plan(uri, match.group(1))
    if match := _STEP.fullmatch(uri):
        plan, fork, step, record = match.groups()
        desk.check_names(plan, fork, step)
        if record not in RECORDS:
            raise NotFoundError(f"{uri}: no record {record!r} (records: {', '.join(RECORDS)})")
        found = forkstate.read(Ledger(find_root()), plan, fork, only=[step])
        if found is None:
            raise NotFoundError(f"{uri}: no fork {plan}/{fork}")
        text = _verdict(found.tip, found.state.step(step).attempt, step) if record == "verdict" else None
        suffix, directories, mime = RECORDS[record]
        for directory in directories:
            raw = found.tip.read(StepPaths(step).record(directory, suffix))
            if raw is not None:
                text = raw.decode("utf-8", errors="replace")
                break
        if text is None:
            raise NotFoundError(f"{uri}: {plan}/{fork} {step} has no {record} (yet)")
        return Content(uri, mime, text)
    raise NotFoundError(
        f"{uri[:300]}: not a resource of Conductor's",
        hint=f"URIs: {PLAN}, {STEP.replace('{record}', '|'.join(RECORDS))}",
    )


def _plan(uri: str, plan: str) -> Content:
    desk.check_names(plan, "main")
    ledger = Ledger(find_root())
    view = plan_view(ledger, plan)
    if view is None:
        raise NotFoundError(f"{uri}: no plan {plan}")
    return Content(uri, "application/json", json.dumps(plan_json(view), ensure_ascii=False, indent=2))


def _verdict(tip: Snapshot, attempts: int, step: str) -> str | None:
    """The verdict of the newest attempt that has one."""
    for number in range(attempts, 0, -1):
        raw = tip.read(StepPaths(step).attempt(number).verdict)
        if raw is not None:
            return raw.decode("utf-8", errors="replace")
    return None
