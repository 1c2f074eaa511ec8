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
from conductor.runner.place.worktree import Worktree
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
    worktree: Worktree,
    parent: str,
    candidates: set[str] | None,
    *,
    limits: detection.Limits | None = None,
) -> Observed:
    """Read the attempt's change (`candidates` None: ask `git status`, the slow way), no file
    over `limits` (they are named in `changed.oversized`, never read, never a blob)."""
    if candidates is None:
        candidates = detection.from_status(worktree.path)
    snap = detection.read_changes(worktree.path, ledger, parent, candidates, limits=limits)
    tree = ledger.build_tree(parent, snap.files)
    diff = ledger.diff_trees(ledger.tree_of(parent), tree, sorted(snap.files))
    return Observed(parent, snap, tree, diff)


def first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3])[:300] if lines else text


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
    """Steps 1-3 of the pipeline: everything but the verify commands."""
    attempt = task.attempt
    # 1. the result, the task as handed out, the attempt
    try:
        result = ResultFile.from_json(raw_result)
    except ValueError as exc:  # every problem, each naming its field
        problems = resultcheck.problems(raw_result, name=f"{step}{RESULT}") or [first_line(str(exc))]
        return Verdict(FailureKind.INVALID_RESULT, "; ".join(problems), evidence=problems), None
    handed_out = mailbox.where_is_task(step)
    if handed_out is None:
        return Verdict(FailureKind.CHECKSUM, "the task file was removed from the mailbox"), result
    try:
        found = record_digest(read_regular(handed_out))  # bounded: no FIFO
    except (ValueError, OSError):
        found = "unreadable"
    if found != task.checksum:
        reason = f"the task file in the mailbox ({handed_out.name}) differs from the one handed out"
        return Verdict(
            FailureKind.CHECKSUM, reason, evidence=[f"expected {task.checksum}", f"found {found}"]
        ), result
    if result.task_id != step or result.attempt != attempt:
        reason = f"the result is for {result.task_id} attempt {result.attempt}, not {step} attempt {attempt}"
        return Verdict(FailureKind.STALE, reason), result

    # 2. the paths: inside allowed_files, outside protected patterns, nothing escapes, .git untouched
    violations: list[Violation] = []
    if not link_was_intact:
        link = "writes under .git: the worktree's .git link was changed (restored)"
        violations.append(Violation(FailureKind.CONSTRAINT, ".git", link))
    for nested in observed.changed.nested_repos:
        violations.append(
            Violation(FailureKind.CONSTRAINT, printable(nested), "adds a nested git repository")
        )
    for name in sorted(observed.changed.unstorable):
        reason = f"a file name that {unstorable_reason(name)}: git cannot store it as it is"
        violations.append(Violation(FailureKind.CONSTRAINT, printable(name), reason))
    symlinks = {
        path: entry[1].decode("utf-8", "surrogateescape")
        for path, entry in observed.changed.files.items()
        if entry is not None and entry[0] == 0o120000
    }
    for name, why in sorted(observed.changed.unreadable.items()):
        violations.append(Violation(FailureKind.CONSTRAINT, printable(name), f"cannot be read: {why}"))
    violations += check_paths(
        observed.diff.changes,
        allowed=AllowedFiles(task.allowed_files),
        protected=policy.protected,
        symlinks=symlinks,
        reported=result.files_changed,
    )
    # files Conductor did not read for their size: a rejection even if nothing else changed
    limits = observed.changed.limits
    violations += check_file_sizes(
        {printable(path): size for path, size in observed.changed.oversized.items()},
        max_file_bytes=limits.file_bytes,
        unread_bytes=observed.changed.unread_bytes,
        max_change_bytes=limits.change_bytes,
    )
    leaks = added_secrets(
        observed.diff.patch, known=known_secrets, allowed=policy.items("file_rules.secrets_allowed")
    )
    violations += leaks
    if violations:
        hint = size_hint(violations) or _scope_hint(violations) or (SECRET_HINT if leaks else None)
        return Verdict(violations[0].kind, str(violations[0]), violations=violations, hint=hint), result
    if result.status is ResultStatus.FAILED:
        return Verdict(FailureKind.EXECUTOR_FAILED, result.summary), result
    if not observed.diff.changes and not allow_empty:
        reason = f"the executor changed nothing (its result says: {first_line(result.summary)})"
        return Verdict(FailureKind.NO_CHANGE, reason), result

    # 3. the size
    too_big = check_size(
        observed.diff.changes,
        lines=observed.lines,
        max_lines=policy.max_diff_lines,
        max_files=policy.max_files_changed,
    )
    if too_big:
        return Verdict(FailureKind.DIFF_TOO_LARGE, str(too_big[0]), violations=too_big), result
    return Verdict(None), result


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


def settle(worktree: Path, ledger: Ledger, observed: Observed, touched: set[str]) -> None:
    """Put back what ran after the observation (verify commands) so the worktree is exactly the
    observed change again: touched paths get the observed content, or the tip's, or go."""
    wanted: dict[str, Entry | None] = {}
    for rel in touched:
        if rel in observed.changed.files:
            wanted[rel] = observed.changed.files[rel]
            continue
        kind, entry = ledger.entry(observed.parent, rel)
        if kind == "blob":
            wanted[rel] = entry
        elif kind == "none":
            wanted[rel] = None
    detection.restore(worktree, wanted)
