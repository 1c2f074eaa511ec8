"""The LLM executor (Gemini, or any compatible model): an in-process worker that speaks the same
file contract as every executor — it claims the task file, asks the model for edits to the
allowed files, applies them inside the workspace, and writes the result and explanation.
Verification, commit and repair are the engine's, as for any other executor.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pathspec

from conductor.errors import ConductorError
from conductor.executors.base import Assignment, Outcome
from conductor.executors.brief import brief
from conductor.executors.edits import apply_edits
from conductor.executors.preflight import Where
from conductor.executors.registry import KINDS
from conductor.gitcli import git
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.llm.answers import EditAnswer, answer_schema, edit_problems
from conductor.llm.caller import Caller
from conductor.llm.conventions import Convention
from conductor.llm.conventions import quoted as conventions_quoted
from conductor.llm.provider import LLMError, LLMRequest, Provider
from conductor.llm.replay import ReplayProvider
from conductor.mailbox import write_atomic
from conductor.models.layout import EXPLANATION, IN_PROGRESS, LLM, RESULT, TASK
from conductor.models.result import ResultFile, ResultStatus, TokenUsage
from conductor.models.task import TaskFile

FILE_LIMIT = 40_000
TOTAL_LIMIT = 150_000
MAX_FILES = 30

SYSTEM = """\
You are a careful software engineer working for Conductor. You get one task. Change only the
files you are allowed to change, keep the change as small as the task allows, and make the
verify commands pass. Answer with JSON matching the schema: a one-sentence summary, a short
Markdown explanation for the reviewer, and the edits. For a new or small file use action
"write" with the complete content; for a small change in a large file use "replace" with a
search text that occurs exactly once."""


def scope(task: TaskFile) -> str:
    """Where a model call belongs, for recording and replay: <fork>/<step>/<attempt>."""
    return f"{task.context.fork_id}/{task.task_id}/{task.attempt}"


def _files(workspace: Path, allowed: list[str]) -> dict[str, str | None]:
    """Current content of the files the task may change (None: does not exist yet), bounded."""
    literal = [p for p in allowed if not set(p) & set("*?[")]
    patterns = [p for p in allowed if set(p) & set("*?[")]
    chosen = list(literal)
    if patterns:
        spec = pathspec.GitIgnoreSpec.from_lines(
            p if p.startswith(("/", "**")) else "/" + p for p in patterns
        )
        try:
            tracked = git(["ls-files", "-z"], cwd=workspace).decode("utf-8", "replace").split("\0")
        except ConductorError:
            tracked = []
        chosen += [t for t in tracked if t and spec.match_file(t) and t not in chosen]
    out: dict[str, str | None] = {}
    total = 0
    for path in chosen[:MAX_FILES]:
        target = workspace / path
        if not target.is_file():
            out[path] = None
            continue
        text = target.read_text(encoding="utf-8", errors="replace")
        if len(text) > FILE_LIMIT or total + len(text) > TOTAL_LIMIT:
            text = text[: max(0, min(FILE_LIMIT, TOTAL_LIMIT - total))] + "\n[... truncated ...]\n"
        total += len(text)
        out[path] = text
    return out


def prompt(task: TaskFile, files: dict[str, str | None], conventions: Sequence[Convention] = ()) -> str:
    """The task (Conductor's rules), the repository's conventions quoted below them, then the
    files the task may change."""
    shown = []
    for path, text in files.items():
        shown.append(f"--- {path} ---\n" + ("(does not exist yet)" if text is None else text))
    quoted = conventions_quoted(conventions, where="where this step starts")
    rules = f"\n\nThe repository's conventions apply to this step. {quoted}" if quoted else ""
    return brief(task) + rules + "\n\nCurrent content of the files you may change:\n" + "\n".join(shown)


class LLMExecutor:
    name = "llm"
    capabilities = KINDS[name].capabilities
    scratch: tuple[str, ...] = ()
    network_hosts: tuple[str, ...] = ()

    def __init__(
        self,
        provider: Callable[[], Provider],
        *,
        settings: dict[str, Any],
        retries: int = 3,
        backoff_seconds: float = 1.0,
    ) -> None:
        self._make_provider = provider
        self._settings = settings
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.model = str(settings.get("model") or settings.get("provider") or "model")

    def identity(self) -> tuple[str, str]:
        return (f"{self.model} (conductor llm executor)", "llm-executor@conductor.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name, "llm": self._settings}

    def preflight(self, where: Where) -> None:
        """Nothing starts here: Conductor calls the model, whose key and SDK were checked when
        the executor was made (registry.llm_executor)."""

    def execute(self, assignment: Assignment) -> Outcome:
        step, mailbox, task = assignment.step, assignment.mailbox, assignment.task
        assignment.on_claim({"executor": self.name, "model": self.model, "pid": os.getpid()})
        if mailbox.claim(step) is None:
            write_atomic(mailbox.path(IN_PROGRESS, step, TASK), task.to_json())
        assignment.say(f"{step}: asking {self.model}")
        request = LLMRequest(
            purpose="edit",
            system=SYSTEM,
            prompt=prompt(
                task, _files(assignment.workspace, list(task.allowed_files)), assignment.conventions
            ),
            schema_name="EditAnswer",
            schema=answer_schema(EditAnswer),
            scope=scope(task),
        )
        caller = Caller(
            self._make_provider(),
            retries=self.retries,
            backoff_seconds=self.backoff_seconds,
            recorder=assignment.record_llm,
        )
        try:
            answer = caller.ask(request, EditAnswer, edit_problems)
        except LLMError as exc:
            self._report(
                assignment, ResultStatus.FAILED, exc.message, [], f"# {step}\n\n{exc.diagnostics()}\n", None
            )
            return Outcome.RESULT
        if assignment.remaining() <= 0:
            return Outcome.TIMEOUT
        edits: EditAnswer = answer.value
        applied = apply_edits(assignment.workspace, edits.edits)
        notes = "\n".join(f"- {note}" for note in applied.notes)
        explanation = edits.explanation.strip() + (
            f"\n\n## Notes from Conductor\n\n{notes}\n" if notes else "\n"
        )
        status = ResultStatus.FAILED if applied.failed else ResultStatus.COMPLETED
        usage = TokenUsage(input=answer.usage.input, output=answer.usage.output)
        self._report(assignment, status, edits.summary, applied.changed, explanation, usage)
        assignment.say(
            f"{step}: {self.model} edited {len(applied.changed)}"
            f" file{'' if len(applied.changed) == 1 else 's'}"
            f" ({usage.input} + {usage.output} tokens)"
        )
        return Outcome.RESULT

    def _report(
        self,
        assignment: Assignment,
        status: ResultStatus,
        summary: str,
        changed: list[str],
        explanation: str,
        usage: TokenUsage | None,
    ) -> None:
        result = ResultFile(
            task_id=assignment.step,
            attempt=assignment.task.attempt,
            status=status,
            summary=summary,
            files_changed=changed,
            tokens=usage,
            agent=self.identity()[0],
        )
        directory = status.value
        write_atomic(assignment.mailbox.path(directory, assignment.step, EXPLANATION), explanation)
        write_atomic(assignment.mailbox.path(directory, assignment.step, RESULT), result.to_json())


def replay_provider(ledger: Ledger, source: str) -> ReplayProvider:
    """A provider that answers from the model calls recorded in plan `source`'s fork logs."""
    snapshots = [ledger.tip(refs.fork_log(source, fork)) for fork in ledger.forks(source)]
    recordings = load_recordings([s for s in snapshots if s is not None])
    if not recordings:
        raise ConductorError(
            f"plan {source} recorded no model calls: only plans run by a model can be replayed",
            hint="`conductor explain STEP --plan PLAN` shows how a plan's steps were done",
        )
    return ReplayProvider(recordings, source=source)


def load_recordings(snapshots: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Recorded exchanges by scope, oldest first, from fork-log snapshots (llm/...)."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for snapshot in snapshots:
        for path in snapshot.files(LLM):
            raw = snapshot.read(path)
            if raw is None:
                continue
            exchange = json.loads(raw)
            found.setdefault(exchange["request"]["scope"], []).append((path, exchange))
    return {key: [e for _, e in sorted(items, key=lambda item: item[0])] for key, items in found.items()}
