"""Conductor's read commands as tools: status, explain, events, compare, diff and verify. Each
calls the command's `run` and gives what `conductor COMMAND --json` prints, under the schema
`conductor schema output COMMAND` publishes (a list, as status and events print, is the value of
one key of an object: a tool's output is an object)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from conductor.commands import compare, diff, events, explain, status, verify
from conductor.commands.output.schemas import output_schema
from conductor.mcpserver.tools import ArgumentError, Arguments, Tool, document, names
from conductor.models.event import EventType

EVENTS_MOST = 1000
"""The most events one call gives (`limit`, 100 by default): the log can be long."""


def _status(args: Arguments) -> dict[str, Any]:
    every = args.flag("all")
    limit = args.number("limit", low=0, high=100_000)
    return {"plans": status.run(limit=None if every else 20 if limit is None else limit).to_json()}


def _explain(args: Arguments) -> Any:
    step = args.text("step")
    return explain.run(step, plan=args.optional_text("plan"), fork=args.optional_text("fork")).to_json()


def _events(args: Arguments) -> dict[str, Any]:
    try:
        types = [EventType.parse(value) for value in args.texts("types")]
    except ValueError as exc:
        raise ArgumentError(f"events: types: {exc}") from None
    limit = args.number("limit", low=0, high=EVENTS_MOST)
    log = events.run(
        plan=args.optional_text("plan"),
        fork=args.optional_text("fork"),
        types=types or None,
        limit=100 if limit is None else limit,
        oldest_first=args.flag("oldest_first"),
    )
    return {"events": [event.to_json() for event in islice(log.events, EVENTS_MOST)]}


def _compare(args: Arguments) -> Any:
    return compare.run(args.optional_text("plan")).to_json()


def _diff(args: Arguments) -> Any:
    return diff.run(args.text("left"), args.optional_text("right"), stat=True, color=False).to_json()


def _verify(args: Arguments) -> Any:
    return verify.run(args.optional_text("plan"), fork=args.optional_text("fork")).to_json()


def tools() -> list[Tool]:
    text: dict[str, Any] = {"type": "string", "maxLength": 200}
    flag: dict[str, Any] = {"type": "boolean"}
    where = {"plan": text, "fork": text}
    return [
        Tool(
            "status",
            "The newest plans (limit, 20 by default; all: every plan, archived ones too) with their"
            " forks and steps and their states, as `conductor status --json`.",
            names(required=(), limit={"type": "integer", "minimum": 0}, all=flag),
            document(output_schema("status"), key="plans"),
            _status,
        ),
        Tool(
            "explain",
            "A step: instruction, confidence, policy, each attempt's explanation and verdict with"
            " its evidence, commits (plan and fork: where it waits, by default), as"
            " `conductor explain --json`.",
            names("step", required=("step",), **where),
            document(output_schema("explain")),
            _explain,
        ),
        Tool(
            "events",
            "The event log, newest first (oldest_first), of a plan or fork, of some types, at most"
            f" limit (100 by default, {EVENTS_MOST} at most), each as `conductor events --json` prints it.",
            names(
                required=(),
                **where,
                types={"type": "array", "items": text, "maxItems": 100},
                limit={"type": "integer", "minimum": 0, "maximum": EVENTS_MOST},
                oldest_first=flag,
            ),
            document({"type": "array", "items": output_schema("events")}, key="events"),
            _events,
        ),
        Tool(
            "compare",
            "A plan's forks side by side and the one recommended (the newest plan by default), as"
            " `conductor compare --json`.",
            names(required=(), plan=text),
            document(output_schema("compare")),
            _compare,
        ),
        Tool(
            "diff",
            "The files two forks differ in (left and right: PLAN/FORK; without right, the fork"
            " against its plan's base), with lines added and removed, as `conductor diff --json`.",
            names("left", required=("left",), right=text),
            document(output_schema("diff")),
            _diff,
        ),
        Tool(
            "verify",
            "Check every accepted step's task, records, statement, commit and signature (of a plan,"
            " or of every plan), as `conductor verify --json`.",
            names(required=(), **where),
            document(output_schema("verify")),
            _verify,
        ),
    ]
