"""`conductor hooks pre-push`: the pre-push check — verify the provenance of every Conductor
branch (and fork log) a push updates. The installed pre-push hook runs it.

git runs the hook with the remote's name and URL as arguments and one line per pushed ref on
stdin: `<local ref> <local sha> <remote ref> <remote sha>`. Deleting a ref is not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conductor.commands.output import verification
from conductor.errors import ConductorError
from conductor.gitcli import git_text
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.provenance.attestation import Options
from conductor.provenance.verifier import Verified, verify_plan
from conductor.report import Report, plural

if TYPE_CHECKING:
    from conductor.commands.output import contract as c

PREFIX = "conductor pre-push:"


def pushed_refs(lines: Iterable[str]) -> set[str]:
    """The remote ref names a push updates (not those it deletes)."""
    names = set()
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[1].strip("0") != "":
            names.add(parts[2])
    return names


def missing_records(
    forks: list[tuple[str, str]],
    pushed: set[str],
    on_remote: Callable[[list[str]], set[str] | None],
    archived: Callable[[str], bool] = lambda plan: False,
) -> list[str]:
    """The state refs (plan log, fork log; the archive for an archived plan) of pushed forks
    that neither this push nor the remote holds: without them a reviewer's `conductor verify`
    finds no plan."""
    wanted: list[str] = []
    for plan, fork in forks:
        needed = (refs.ARCHIVE,) if archived(plan) else (refs.plan_log(plan), refs.fork_log(plan, fork))
        for ref in needed:
            if ref not in pushed and ref not in wanted:
                wanted.append(ref)
    if not wanted:
        return []
    present = on_remote(wanted) or set()
    return [ref for ref in wanted if ref not in present]


def remote_has(remote: str | None) -> Callable[[list[str]], set[str] | None]:
    """Which of some refs the remote has (`git ls-remote`); None when it cannot be asked."""

    def ask(names: list[str]) -> set[str] | None:
        if not remote:
            return None
        try:
            out = git_text(["ls-remote", "--refs", remote, *names], cwd=find_root())
        except ConductorError:
            return None
        return {line.split("\t", 1)[1] for line in out.splitlines() if "\t" in line}

    return ask


def pushed_forks(lines: Iterable[str]) -> list[tuple[str, str]]:
    """The (plan, fork) pairs whose code branch or fork log a push updates, in order."""
    found: dict[tuple[str, str], None] = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or parts[1].strip("0") == "":
            continue
        local, _, remote, _ = parts
        for name in (local, remote):
            pair = refs.parse_branch(name)
            log = refs.parse(name)
            if pair is None and log is not None and log.kind == "fork" and log.plan and log.fork:
                pair = (log.plan, log.fork)
            if pair is not None:
                found.setdefault(pair)
                break
    return list(found)


@dataclass
class PrePush(Report):
    checked: list[tuple[str, str]] = field(default_factory=list)
    reports: list[Verified] = field(default_factory=list)  # of the forks that do not verify
    errors: list[str] = field(default_factory=list)  # forks that could not be checked
    remote: str = ""
    missing: list[str] = field(default_factory=list)  # state refs left behind (a warning)

    @property
    def failed(self) -> int:
        return len(self.reports) + len(self.errors)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> c.PrePush:
        return {
            "checked": [{"plan": plan, "fork": fork} for plan, fork in self.checked],
            "ok": not self.failed,
            "failed": [verification.to_json(r) for r in self.reports],
            "errors": self.errors,
            "records_left_behind": self.missing,
        }

    def render(self) -> str:
        if not self.checked:
            return ""
        lines = [f"{PREFIX} {error}" for error in self.errors]
        lines += [verification.text(report) for report in self.reports]
        if self.failed:
            lines.append(
                f"{PREFIX} {plural(self.failed, 'branch', 'branches')}"
                f" {'does' if self.failed == 1 else 'do'} not verify; push refused "
                "(details above; `conductor verify PLAN` to recheck; `git push --no-verify` to bypass)"
            )
        else:
            lines.append(f"{PREFIX} provenance of {plural(len(self.checked), 'fork')} verified")
        if self.missing:
            remote = self.remote or "REMOTE"
            lines.append(
                f"{PREFIX} warning: the records of these forks stay behind ({', '.join(self.missing)});"
                f" a reviewer's `conductor verify` will find no plan. Push them too:"
                f" git push {remote} {refs.SHARED}  (or use `conductor pr`)"
            )
        return "\n".join(lines)


def run(lines: Iterable[str], *, remote: str | None = None) -> PrePush:
    lines = list(lines)
    result = PrePush(pushed_forks(lines), remote=remote or "")
    if not result.checked:
        return result
    branches = [pair for pair in result.checked if refs.code_branch(*pair) in pushed_refs(lines)]
    ledger = Ledger(find_root())
    live = set(ledger.ref_names(refs.PLANS_PREFIX))
    archived = set(ledger.archived_plans())
    result.missing = missing_records(
        branches,
        pushed_refs(lines),
        remote_has(remote),
        archived=lambda plan: plan in archived and refs.plan_log(plan) not in live,
    )
    for plan, fork in result.checked:
        try:
            report = verify_plan(ledger, plan, fork=fork, options=Options())
        except ConductorError as exc:
            result.errors.append(f"{refs.short_branch(plan, fork)}: {exc.diagnostics()}")
            continue
        if not report.ok:
            result.reports.append(report)
    return result
