"""`conductor clean [PLAN]`: remove worktrees and mailboxes of finished plans (history stays)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conductor.report import Report, plural
from conductor.runner.plan.cleanup import Cleaned, clean

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class CleanReport(Report):
    cleaned: list[Cleaned] = field(default_factory=list)

    def to_json(self) -> list[c.Cleaned]:
        return [{"plan": done.plan, "removed": done.removed, "kept": done.kept} for done in self.cleaned]

    def render(self) -> str:
        if not self.cleaned:
            return "Nothing to clean."
        lines = []
        for done in self.cleaned:
            if done.removed:
                lines.append(f"{done.plan}: removed {plural(len(done.removed), 'worktree/mailbox path')}")
            lines += [
                f"{done.plan}: kept {path}: it has changes of yours (git worktree remove --force {path})"
                for path in done.kept
            ]
        return "\n".join(lines)


def run(plan: str | None) -> CleanReport:
    return CleanReport(clean(plan))
