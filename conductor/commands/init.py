"""`conductor init [NAME]`: create a project NAME, or set up Conductor in the current repository."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from conductor.report import Report
from conductor.runner.install.setup import InitResult, existing_repo, new_project

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class InitReport(Report):
    done: InitResult

    def to_json(self) -> c.Init:
        d = self.done
        return {
            "root": str(d.root),
            "created_repository": d.created_repo,
            "written": d.written,
            "kept": d.kept,
            "commit": d.commit,
        }

    def render(self) -> str:
        d = self.done
        if d.created_repo:
            lines = [f"Created {d.root} with {', '.join(d.written)} (commit {str(d.commit)[:12]})."]
            if d.identity_fallback:
                lines.append(
                    f"No git identity is configured, so the first commit is by {d.identity_fallback}."
                )
            lines.append(f"Next: cd {d.name} && conductor policy")
            return "\n".join(lines)
        if not d.written:
            return f"Conductor is already set up in {d.root} (nothing changed)."
        lines = [f"Set up Conductor in {d.root}: wrote {', '.join(d.written)}."]
        if d.kept:
            lines.append(f"Kept existing {', '.join(d.kept)}.")
        lines.append(
            "Review the policy, then commit it: git add .conductor && git commit -m 'Add Conductor policy'"
        )
        return "\n".join(lines)


def run(name: str | None) -> InitReport:
    return InitReport(new_project(name) if name else existing_repo())
