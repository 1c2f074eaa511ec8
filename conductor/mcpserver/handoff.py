"""The handoff contract as tools (docs/mcp.md): list the tasks waiting for an agent, claim one,
read it, submit its result and explanation, and see the verdict once Conductor has judged it.

The tools are the desk's functions (conductor/desk.py), the ones a file agent's moves come to:
a claim is the same rename, a result is checked as a result file is (the same schema, limits
and problems, returned as a tool error) and put where a file agent writes it, so the run that
waits for it (`--executor mcp`, or `--executor handoff`) records the same claim and result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conductor import desk
from conductor.commands import explain
from conductor.commands.output.schemas import output_schema
from conductor.errors import ConductorError
from conductor.ledger.store import Ledger
from conductor.mcpserver.tools import MAX_TEXT, ArgumentError, Arguments, Tool, embedded, names, with_defs
from conductor.models.schema import schema
from conductor.project import HANDOFF_DIR, find_root
from conductor.runner.logs.plans import load_plan

SHOWN = ("instruction", "allowed_files", "constraints", "confidence", "timeout_seconds", "workspace")
"""What the list says of each task (the whole task: read_task)."""


def _handoff() -> Path:
    return find_root() / HANDOFF_DIR


def _opened(ticket: desk.Ticket) -> dict[str, Any]:
    task = desk.read(ticket).model_dump(mode="json")
    where = {"plan": ticket.plan, "fork": ticket.fork, "step": ticket.step, "claimed": ticket.claimed}
    return {**where, "task": task}


def list_tasks(args: Arguments) -> dict[str, Any]:
    listed = []
    for ticket in desk.open_tasks(_handoff(), plan=args.optional_text("plan"), claimed=args.flag("claimed")):
        try:
            task = desk.read(ticket)
        except ConductorError:
            continue  # claimed or finished meanwhile, or damaged: not waiting for anyone
        shown = task.model_dump(mode="json", include=set(SHOWN))
        listed.append(
            {"plan": ticket.plan, "fork": ticket.fork, "step": ticket.step, "attempt": task.attempt}
            | {"claimed": ticket.claimed, **shown}
        )
    return {"tasks": listed}


def claim_task(args: Arguments) -> dict[str, Any]:
    plan, fork, step = args.text("plan"), args.text("fork"), args.text("step")
    return _opened(desk.claim(_handoff(), plan, fork, step))


def read_task(args: Arguments) -> dict[str, Any]:
    plan, fork, step = args.text("plan"), args.text("fork"), args.text("step")
    return _opened(desk.find(_handoff(), plan, fork, step))


def submit_result(args: Arguments) -> dict[str, Any]:
    plan, fork, step = args.text("plan"), args.text("fork"), args.text("step")
    desk.find(_handoff(), plan, fork, step)  # an open task, before its plan's policy is read
    result = args.raw("result")
    if isinstance(result, dict):
        raw = json.dumps(result, ensure_ascii=False).encode("utf-8", "surrogatepass")
    elif isinstance(result, str) and len(result) <= MAX_TEXT:
        raw = result.encode("utf-8", "surrogatepass")  # the result file's text, as a file agent writes it
    else:
        raise ArgumentError("submit_result: result must be the result file: a JSON object, or its text")
    explanation = args.text("explanation", limit=MAX_TEXT).encode("utf-8", "surrogatepass")
    limit = load_plan(Ledger(find_root()), plan).effective(fork, step).max_result_bytes
    path = desk.hand_in(_handoff(), plan, fork, step, result=raw, explanation=explanation, limit=limit)
    attempt = desk.result_attempt(raw)
    handed = f"{path.parent.name}/{path.name}"
    return {"plan": plan, "fork": fork, "step": step, "attempt": attempt, "handed_in": handed}


def task_verdict(args: Arguments) -> Any:
    plan, fork, step = args.text("plan"), args.text("fork"), args.text("step")
    desk.check_names(plan, fork, step)
    return explain.run(step, plan=plan, fork=fork).to_json()


def _where(**more: Any) -> dict[str, Any]:
    properties = {key: {"type": "string"} for key in ("plan", "fork", "step")}
    required = ["plan", "fork", "step", *more]
    return {"type": "object", "properties": properties | more, "required": required}


def tools() -> list[Tool]:
    defs: dict[str, Any] = {}
    task = embedded(schema("task"), defs)
    result = embedded(schema("result"), defs)
    where: dict[str, Any] = {key: {"type": "string"} for key in ("plan", "fork", "step")}
    where |= {"attempt": {"type": "integer"}, "claimed": {"type": "boolean"}}
    shown = {"type": "object", "properties": {key: task["properties"][key] for key in SHOWN} | where}
    tasks = with_defs({"type": "object", "properties": {"tasks": {"type": "array", "items": shown}}}, defs)
    opened = with_defs(_where(claimed={"type": "boolean"}, task=task), defs)
    step_names = ("plan", "fork", "step")
    return [
        Tool(
            "list_tasks",
            "The tasks waiting for an agent: plan, fork, step, attempt, instruction, allowed files,"
            " constraints, confidence (with claimed: true, those claimed too).",
            names(plan={"type": "string", "maxLength": 200}, claimed={"type": "boolean"}, required=()),
            tasks,
            list_tasks,
        ),
        Tool(
            "claim_task",
            "Claim a waiting task (as renaming it to in_progress/ does: of two claimers one wins) and"
            " read it whole. Then edit its workspace, only the allowed files, and submit_result.",
            names(*step_names),
            opened,
            claim_task,
        ),
        Tool("read_task", "Read a waiting or claimed task whole.", names(*step_names), opened, read_task),
        Tool(
            "submit_result",
            "Hand in the result of a task once its workspace holds the change: the result file"
            " (schema: result; copy task_id and attempt from the task) and the explanation (Markdown)."
            " A result with problems is refused with every one of them, nothing written: correct it"
            " and submit again. Then task_verdict says how Conductor judged it.",
            names(
                *step_names,
                result={"oneOf": [result, {"type": "string", "description": "the result file's text"}]},
                explanation={"type": "string"},
                required=(*step_names, "result", "explanation"),
            )
            | ({"$defs": defs} if defs else {}),
            _where(attempt={"type": "integer"}, handed_in={"type": "string"}),
            submit_result,
        ),
        Tool(
            "task_verdict",
            "How Conductor judged a step: its state and each attempt's verdict (as `conductor explain`).",
            names(*step_names),
            output_schema("explain"),
            task_verdict,
        ),
    ]
