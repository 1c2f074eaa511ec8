"""Conductor's long runs as tools: build, explore, resume, approve and reject. Each runs
`conductor COMMAND --json` in the repository as a process of its own (a run that fails or is
killed never takes the server with it), says every line the command says on stderr as an MCP
progress notification, and gives what the command prints, under its published schema. The
server goes on answering meanwhile: the agent doing the plan's steps claims and submits them
through the same server while its build runs. A call the client cancels interrupts its command
as Ctrl-C does: the plan halts, to be resumed.

What a client may start is bounded: a plan file inside the repository, an executor that runs no
command line of the client's (mcp, handoff, llm, or a known agent by name).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from conductor.commands.output.schemas import output_schema
from conductor.errors import ConductorError
from conductor.mcpserver.tools import MAX_NAME, ArgumentError, Arguments, Tool, document, names
from conductor.project import find_root

EXECUTORS = ("mcp", "handoff", "llm", "agent")
"""The executors a client may choose: none of them runs a command line the client wrote."""
LINE_MOST = 2000  # characters of one progress message
OUTPUT_MOST = 64 * 1024 * 1024  # bytes of a command's JSON document
STOP_POLL_SECONDS = 0.5  # how soon a cancelled call's command is interrupted


def run_command(args: Arguments, command: list[str]) -> Any:
    """`conductor COMMAND --json` in the repository: its document, each stderr line a progress
    note meanwhile. An error document is a tool error; a plan that failed is a document."""
    root = find_root()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "conductor", *command, "--json"],
            cwd=root,
            stdin=subprocess.DEVNULL,  # never the server's: stdio is the client's channel
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        assert proc.stderr is not None
        threading.Thread(target=_interrupt_on, args=(args.stop, proc), daemon=True).start()
        for line in proc.stderr:
            if line.strip():
                args.progress(line.rstrip()[:LINE_MOST])
        proc.wait()
        out.seek(0)
        raw = out.read(OUTPUT_MOST)
    try:
        said = json.loads(raw)
    except ValueError:
        raise ConductorError(
            f"`conductor {command[0]}` ended with exit code {proc.returncode} and printed no JSON"
        ) from None
    if isinstance(said, dict) and isinstance(said.get("error"), dict):
        error = said["error"]
        raise ConductorError(str(error.get("message")), hint=error.get("hint"))
    return said


def _interrupt_on(stop: threading.Event, proc: subprocess.Popen[str]) -> None:
    """Interrupt the command (as Ctrl-C does: the plan halts, to be resumed) once `stop` is set
    — the client cancelled the call — unless it has ended by then."""
    while not stop.wait(STOP_POLL_SECONDS):
        if proc.poll() is not None:
            return
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)


def plan_file(args: Arguments, root: Path) -> list[str]:
    """`--plan FILE` for a plan file inside the repository; nothing without one."""
    given = args.optional_text("plan_file", limit=4096)
    if given is None:
        return []
    path = (root / given).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise ArgumentError(
            f"plan_file: {given} is not a file inside the repository",
            hint="give the plan file's path relative to the repository root",
        )
    return ["--plan", str(path)]


def executor(args: Arguments) -> list[str]:
    chosen, agent = args.optional_text("executor"), args.optional_text("agent")
    if chosen is not None and chosen not in EXECUTORS:
        raise ArgumentError(f"executor: {chosen!r} is not one of {', '.join(EXECUTORS)}")
    said = ["--executor", chosen] if chosen is not None else []
    return said + (["--agent", agent] if agent is not None else [])


def argument(args: Arguments, key: str, *, limit: int = MAX_NAME, required: bool = False) -> list[str]:
    """The command's argument `key` (nothing when it is not given or empty), refused when
    it would read as an option (`--exec=…` would make the command run a line the client wrote)."""
    value = args.text(key, limit=limit) if required else args.optional_text(key, limit=limit)
    if value is not None and value.startswith("-"):
        raise ArgumentError(f"{args.tool}: {key} must not begin with '-' (it would read as an option)")
    return [value] if value else []


def _goal(args: Arguments) -> list[str]:
    return argument(args, "goal", limit=10_000)


def _yes(args: Arguments) -> list[str]:
    return ["--yes"] if args.flag("yes") else []


def _build(args: Arguments) -> Any:
    launch = [*_goal(args), *plan_file(args, find_root()), *executor(args), *_yes(args)]
    return run_command(args, ["build", *launch])


def _explore(args: Arguments) -> Any:
    forks = args.number("forks", low=1, high=8)
    more = ["--forks", str(forks)] if forks is not None else []
    launch = [*_goal(args), *plan_file(args, find_root()), *executor(args), *more, *_yes(args)]
    return run_command(args, ["explore", *launch])


def _resume(args: Arguments) -> Any:
    return run_command(args, ["resume", *argument(args, "plan"), *executor(args), *_yes(args)])


def _decide(verb: str) -> Any:
    def decide(args: Arguments) -> Any:
        step = argument(args, "step", required=True)
        where = [
            f"--{key}={value}" for key in ("plan", "fork", "reason") if (value := args.optional_text(key))
        ]
        return run_command(args, [verb, *step, *where])

    return decide


def tools() -> list[Tool]:
    text: dict[str, Any] = {"type": "string", "maxLength": 200}
    flag: dict[str, Any] = {"type": "boolean"}
    launch: dict[str, dict[str, Any]] = {
        "goal": {"type": "string", "maxLength": 10_000},
        "plan_file": {"type": "string", "maxLength": 4096},
        "executor": {"enum": list(EXECUTORS)},
        "agent": text,
        "yes": flag,
    }
    long_run = (
        " A long run: each line it says comes as a progress notification; the server answers"
        " other calls meanwhile."
    )
    decided = output_schema("approve")
    return [
        Tool(
            "build",
            "Run a plan (plan_file, a path in the repository, or a goal the model plans) with an executor"
            " (mcp: you do the steps through these tools), as `conductor build --json`." + long_run,
            names(required=(), **launch),
            document(output_schema("build")),
            _build,
        ),
        Tool(
            "explore",
            "Several strategies in parallel, one branch each, compared, one recommended, as"
            " `conductor explore --json`." + long_run,
            names(required=(), forks={"type": "integer", "minimum": 1, "maximum": 8}, **launch),
            document(output_schema("explore")),
            _explore,
        ),
        Tool(
            "resume",
            "Continue a halted or interrupted plan (the newest by default), as `conductor resume --json`."
            + long_run,
            names(required=(), plan=text, executor=launch["executor"], agent=text, yes=flag),
            document(output_schema("resume")),
            _resume,
        ),
        Tool(
            "approve",
            "Approve a step waiting for a person, then continue its plan, as `conductor approve --json`."
            + long_run,
            names(
                "step", required=("step",), plan=text, fork=text, reason={"type": "string", "maxLength": 2000}
            ),
            document(decided),
            _decide("approve"),
        ),
        Tool(
            "reject",
            "Reject a step waiting for a person (its fork fails), then continue its plan, as"
            " `conductor reject --json`." + long_run,
            names(
                "step", required=("step",), plan=text, fork=text, reason={"type": "string", "maxLength": 2000}
            ),
            document(output_schema("reject")),
            _decide("reject"),
        ),
    ]
