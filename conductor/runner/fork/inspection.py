"""Inspecting one attempt (docs/lifecycle.md): observe what the executor changed, then check it
in order — the result and the task as handed out, the paths, the size, the verify commands.

The change is observed as objects: the candidates (watcher or `git status`) are read from
disk into a tree built on the fork tip, and that tree is diffed against the tip. The same
tree becomes the step's commit when every check passes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conductor.checks.diff import (
    AllowedFiles,
    Violation,
    changed_lines,
    check_file_sizes,
    check_paths,
    check_size,
    size_hint,
)
from conductor.checks.evidence import CommandEvidence, run_command
from conductor.checks.leaks import added_secrets
from conductor.engine.failures import FailureKind
from conductor.ledger.code import TreeDiff
from conductor.ledger.store import Ledger
from conductor.ledger.tree import Entry
from conductor.mailbox import Mailbox, read_regular
from conductor.models import resultcheck
from conductor.models.layout import RESULT
from conductor.models.paths import printable, unstorable_reason
from conductor.models.result import ResultFile, ResultStatus
from conductor.models.task import TaskFile, record_digest
from conductor.policy.effective import EffectivePolicy
from conductor.runner.fork.tripwire import Tripped
from conductor.runner.place import detection, workspace
from conductor.runner.place.spaces import Workspace
from conductor.sandbox.confinement import Confinement


@dataclass
class Observed:
    """What an attempt changed, relative to the fork tip `parent`."""

    parent: str
    changed: detection.ChangedFiles
    tree: str
    diff: TreeDiff

    @property
    def paths(self) -> list[str]:
        """Every path the change touches (both sides of renames)."""
        return sorted({path for change in self.diff.changes for path in change.paths()})

    def index_entries(self) -> list[tuple[str, str, str]]:
        """(mode, object id, path) for the worktree's index once the change is committed."""
        entries = []
        for change in self.diff.changes:
            if change.old_path is not None and change.kind == "renamed":
                entries.append(("0", "", change.old_path))
            if change.new_mode == "000000":
                entries.append(("0", "", change.path))
            else:
                entries.append((change.new_mode, change.new_oid, change.path))
        return entries

    @property
    def lines(self) -> int:
        return changed_lines(self.diff.changes, self.diff.counts, self.diff.sizes)

    def diffstat(self) -> str:
        parts = []
        for change in self.diff.changes[:20]:
            count = self.diff.counts.get(change.path)
            shown = "binary" if count is None else f"+{count[0]} -{count[1]}"
            parts.append(f"{change.describe()} ({shown})")
        if len(self.diff.changes) > 20:
            parts.append(f"... {len(self.diff.changes) - 20} more")
        return "; ".join(parts)


@dataclass
class Verdict:
    kind: FailureKind | None  # None: accepted
    reason: str = ""
    violations: list[Violation] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    commands: list[CommandEvidence] = field(default_factory=list)
    hint: str | None = None  # better advice than the failure kind's general one

    @property
    def accepted(self) -> bool:
        return self.kind is None


def observe(
    ledger: Ledger,
    worktree: Workspace,
    parent: str,
    candidates: set[str] | None,
    *,
    limits: detection.Limits | None = None,
) -> Observed:
    """Read the attempt's change (`candidates` None: the workspace's slow way, `git status` of a
    worktree), no file over `limits` (they are named in `changed.oversized`, never read, never a
    blob)."""
    if candidates is None:
        candidates = worktree.changed_paths()
    snap = worktree.read_changes(ledger, parent, candidates, limits=limits)
    tree = ledger.build_tree(parent, snap.files)
    diff = ledger.diff_trees(ledger.tree_of(parent), tree, sorted(snap.files))
    return Observed(parent, snap, tree, diff)


def first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3])[:300] if lines else text


@dataclass
class Attempt:
    """What the checks of one attempt look at: the attempt's task, its result and its change."""

    step: str
    task: TaskFile
    raw_result: bytes
    mailbox: Mailbox
    observed: Observed
    policy: EffectivePolicy
    link_was_intact: bool  # the worktree's .git link, as the step left it
    allow_empty: bool = False
    known_secrets: Sequence[tuple[str, str]] = ()
    result: ResultFile | None = None  # read by the first check

    @property
    def read(self) -> ResultFile:
        assert self.result is not None, "the result check runs first"
        return self.result


AttemptCheck = Callable[[Attempt], Verdict | None]
"""A check of an attempt: None when it holds, else the verdict that rejects the attempt."""
PathCheck = Callable[[Attempt], list[Violation]]
"""A check of the change's paths: what it found wrong (all of them are reported together)."""


def check(
    *,
    step: str,
    task: TaskFile,
    raw_result: bytes,
    mailbox: Mailbox,
    observed: Observed,
    policy: EffectivePolicy,
    link_was_intact: bool,
    allow_empty: bool = False,
    known_secrets: Sequence[tuple[str, str]] = (),
) -> tuple[Verdict, ResultFile | None]:
    """Steps 1-3 of the pipeline, everything but the verify commands: the checks of CHECKS in
    order, up to the first that rejects the attempt."""
    attempt = Attempt(
        step, task, raw_result, mailbox, observed, policy, link_was_intact, allow_empty, known_secrets
    )
    for _name, run in CHECKS:
        verdict = run(attempt)
        if verdict is not None:
            return verdict, attempt.result
    return Verdict(None), attempt.result


def _result(attempt: Attempt) -> Verdict | None:
    """The result file reads as one; else every problem, each naming its field."""
    try:
        attempt.result = ResultFile.from_json(attempt.raw_result)
    except ValueError as exc:
        name = f"{attempt.step}{RESULT}"
        problems = resultcheck.problems(attempt.raw_result, name=name) or [first_line(str(exc))]
        return Verdict(FailureKind.INVALID_RESULT, "; ".join(problems), evidence=problems)
    return None


def _task(attempt: Attempt) -> Verdict | None:
    """The task file in the mailbox is still the one handed out."""
    handed_out = attempt.mailbox.where_is_task(attempt.step)
    if handed_out is None:
        return Verdict(FailureKind.CHECKSUM, "the task file was removed from the mailbox")
    try:
        found = record_digest(read_regular(handed_out))  # bounded: no FIFO
    except (ValueError, OSError):
        found = "unreadable"
    wanted = attempt.task.checksum
    if found == wanted:
        return None
    reason = f"the task file in the mailbox ({handed_out.name}) differs from the one handed out"
    return Verdict(FailureKind.CHECKSUM, reason, evidence=[f"expected {wanted}", f"found {found}"])


def _this_attempt(attempt: Attempt) -> Verdict | None:
    """The result is for this step and this attempt."""
    result, step, number = attempt.read, attempt.step, attempt.task.attempt
    if result.task_id == step and result.attempt == number:
        return None
    reason = f"the result is for {result.task_id} attempt {result.attempt}, not {step} attempt {number}"
    return Verdict(FailureKind.STALE, reason)


def _git_link(attempt: Attempt) -> list[Violation]:
    if attempt.link_was_intact:
        return []
    link = "writes under .git: the worktree's .git link was changed (restored)"
    return [Violation(FailureKind.CONSTRAINT, ".git", link)]


def _nested_repos(attempt: Attempt) -> list[Violation]:
    nested = attempt.observed.changed.nested_repos
    return [Violation(FailureKind.CONSTRAINT, printable(n), "adds a nested git repository") for n in nested]


def _unstorable(attempt: Attempt) -> list[Violation]:
    return [
        Violation(
            FailureKind.CONSTRAINT,
            printable(name),
            f"a file name that {unstorable_reason(name)}: git cannot store it as it is",
        )
        for name in sorted(attempt.observed.changed.unstorable)
    ]


def _unreadable(attempt: Attempt) -> list[Violation]:
    unreadable = attempt.observed.changed.unreadable
    return [
        Violation(FailureKind.CONSTRAINT, printable(name), f"cannot be read: {why}")
        for name, why in sorted(unreadable.items())
    ]


def _scope(attempt: Attempt) -> list[Violation]:
    """Inside allowed_files, outside the protected patterns, no link leading out, as reported."""
    observed = attempt.observed
    symlinks = {
        path: entry[1].decode("utf-8", "surrogateescape")
        for path, entry in observed.changed.files.items()
        if entry is not None and entry[0] == 0o120000
    }
    return check_paths(
        observed.diff.changes,
        allowed=AllowedFiles(attempt.task.allowed_files),
        protected=attempt.policy.protected,
        symlinks=symlinks,
        reported=attempt.read.files_changed,
    )


def _file_sizes(attempt: Attempt) -> list[Violation]:
    """Files Conductor did not read for their size: a rejection even if nothing else changed."""
    changed = attempt.observed.changed
    return check_file_sizes(
        {printable(path): size for path, size in changed.oversized.items()},
        max_file_bytes=changed.limits.file_bytes,
        unread_bytes=changed.unread_bytes,
        max_change_bytes=changed.limits.change_bytes,
    )


def _secrets(attempt: Attempt) -> list[Violation]:
    allowed = attempt.policy.items("file_rules.secrets_allowed")
    return added_secrets(attempt.observed.diff.patch, known=attempt.known_secrets, allowed=allowed)


PATH_CHECKS: tuple[tuple[str, PathCheck], ...] = (
    ("git link", _git_link),
    ("nested repositories", _nested_repos),
    ("file names", _unstorable),
    ("unreadable", _unreadable),
    ("scope", _scope),
    ("file sizes", _file_sizes),
    ("secrets", _secrets),
)
"""The checks of the paths, each adding what it found wrong, in this order."""


def _paths(attempt: Attempt) -> Verdict | None:
    """Every path check; what they found is one rejection, the first named, all listed."""
    found = {name: run(attempt) for name, run in PATH_CHECKS}
    violations = [violation for name in found for violation in found[name]]
    if not violations:
        return None
    hint = size_hint(violations) or _scope_hint(violations) or (SECRET_HINT if found.get("secrets") else None)
    return Verdict(violations[0].kind, str(violations[0]), violations=violations, hint=hint)


def _executor_status(attempt: Attempt) -> Verdict | None:
    """The result does not say the executor failed."""
    if attempt.read.status is ResultStatus.FAILED:
        return Verdict(FailureKind.EXECUTOR_FAILED, attempt.read.summary)
    return None


def _some_change(attempt: Attempt) -> Verdict | None:
    """Something changed (unless the step allows an empty change)."""
    if attempt.observed.diff.changes or attempt.allow_empty:
        return None
    reason = f"the executor changed nothing (its result says: {first_line(attempt.read.summary)})"
    return Verdict(FailureKind.NO_CHANGE, reason)


def _size(attempt: Attempt) -> Verdict | None:
    """Within behavior.max_diff_lines and max_files_changed."""
    observed, policy = attempt.observed, attempt.policy
    too_big = check_size(
        observed.diff.changes,
        lines=observed.lines,
        max_lines=policy.max_diff_lines,
        max_files=policy.max_files_changed,
    )
    return Verdict(FailureKind.DIFF_TOO_LARGE, str(too_big[0]), violations=too_big) if too_big else None


CHECKS: tuple[tuple[str, AttemptCheck], ...] = (
    ("result", _result),
    ("task", _task),
    ("attempt", _this_attempt),
    ("paths", _paths),
    ("status", _executor_status),
    ("change", _some_change),
    ("size", _size),
)
"""The checks of an attempt before its verify commands, in the order they run (docs/lifecycle.md):
the first that rejects it decides the verdict; a check added here runs."""


SECRET_HINT = (
    "take the secret out of the change (read it from the environment at run time); if the file is a"
    " test fixture with a made-up credential, list it under file_rules.secrets_allowed in"
    " .conductor/policy.yaml"
)
OUT_OF_SCOPE = "not in allowed_files"
SCRATCH_HINT = (
    "widen the step's allowed_files if the change belongs to it; if {paths} is a tool's own file (a"
    " chat history, a cache), keep it out of the step: run the agent through its profile (--agent"
    " NAME, docs/agents.md), or list it under `scratch:` of your profile in .conductor/agents.yaml,"
    " or ignore it in .gitignore"
)


def _scope_hint(violations: list[Violation]) -> str | None:
    """For files outside allowed_files that look like a tool's own (hidden: `.aider.chat.history.md`,
    `.cache/`): what to do about them, beyond the failure's general advice."""
    hidden = [
        v.path
        for v in violations
        if OUT_OF_SCOPE in v.detail and any(part.startswith(".") for part in v.path.split("/"))
    ]
    return SCRATCH_HINT.format(paths=", ".join(hidden[:3])) if hidden else None


def run_verify_commands(
    commands: list[str],
    *,
    worktree: Path,
    timeout: float,
    say: Callable[[str], None],
    confinement: Confinement,
) -> Verdict:
    """Step 4: the verify commands, in order, stopping at the first failure. Without the
    sandbox (which hides the checkout), first a check that they would test the worktree."""
    if commands and not confinement.isolated:
        env = {**os.environ, **dict(confinement.env)}
        leak = workspace.import_leak(worktree, confinement.repo_root, env)
        if leak is not None:
            reason = leak.reason()
            return Verdict(FailureKind.VERIFY_FAILED, reason, evidence=[reason], hint=workspace.LEAK_HINT)
    results: list[CommandEvidence] = []
    for command in commands:
        say(f"verify `{command}`")
        results.append(run_command(command, cwd=worktree, timeout=timeout, confinement=confinement))
        if not results[-1].passed:
            break
    failed = next((r for r in results if not r.passed), None)
    if failed is None:
        return Verdict(None, commands=results)
    state = "timed out" if failed.exit_code is None else f"exited with {failed.exit_code}"
    state += f": {failed.limit}" if failed.limit else ""
    tail = failed.output.strip().splitlines()[-10:]
    return Verdict(FailureKind.VERIFY_FAILED, f"`{failed.command}` {state}", evidence=tail, commands=results)


def outside(tripped: Tripped, verdict: Verdict) -> Verdict:
    """The verdict when the step changed the repository outside its worktree (its hooks,
    config, refs): a rejection naming each path and whether it was put back — whatever else was
    found."""
    violations = [
        Violation(
            FailureKind.CONSTRAINT,
            path,
            "changed outside the worktree while the step ran"
            + (" (put back)" if path in tripped.restored else ""),
        )
        for path in tripped.changed
    ]
    if tripped.tampered:
        violations.append(
            Violation(
                FailureKind.CONSTRAINT, ".git/conductor/tripwires", "the step's fingerprint was changed"
            )
        )
    first = violations[0]
    return Verdict(
        first.kind, str(first), violations=[*violations, *verdict.violations], commands=verdict.commands
    )


def settle(worktree: Workspace, ledger: Ledger, observed: Observed, touched: set[str]) -> None:
    """Put back what ran after the observation (verify commands) so the worktree is exactly the
    observed change again: touched paths get the observed content, or the tip's, or go — a folder
    before what is in it, so a new folder that goes (a layered attempt's, as a whole) comes back
    with the observed files in it."""
    wanted: dict[str, Entry | None] = {}
    for rel in sorted(touched, key=lambda path: (path.count("/"), path)):
        if rel in observed.changed.files:
            wanted[rel] = observed.changed.files[rel]
            continue
        kind, entry = ledger.entry(observed.parent, rel)
        if kind == "blob":
            wanted[rel] = entry
        elif kind == "none":
            wanted[rel] = None
    worktree.restore(wanted)
