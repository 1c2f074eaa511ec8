"""`conductor checkout PLAN/FORK@STEP [DIR]`: revisit a point of a plan's history — the code as
that step was accepted, in a worktree of its own (your checkout is not touched), and the
records as they were then. `conductor clean` removes it with the plan's other working files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conductor.commands.output.plans import point_json
from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.layout import COMPLETED, RESULT, StepPaths
from conductor.project import find_root
from conductor.report import Report
from conductor.runner.plan.cleanup import remember_checkout
from conductor.runner.views.point import Point, resolve

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class Checkout(Report):
    point: Point
    path: Path

    def to_json(self) -> c.Checkout:
        return {**point_json(self.point), "path": str(self.path)}

    def render(self) -> str:
        point = self.point
        lines = [f"Checked out {point.label} (commit {point.commit[:12]}) in {self.path}"]
        if point.record and point.step:
            log = refs.fork_log(point.plan, point.fork)
            result_record = StepPaths(point.step).record(COMPLETED, RESULT)
            lines.append(f"The records as they were then: git show {point.record[:12]}:{result_record}")
            lines.append(
                f"  (or browse them: git ls-tree -r --name-only {point.record[:12]}; the log: {log})"
            )
        lines.append(f"Start a new strategy from here: conductor fork --from {point.label} --strategy TEXT")
        lines.append(
            f"Done looking: git worktree remove {self.path} (or `conductor clean {point.plan}`"
            " once the plan is finished)"
        )
        return "\n".join(lines)


def default_directory(root: Path, point: Point) -> Path:
    """A sibling of the repository: `<repo>-<plan>-<fork>-<step>`."""
    return root.parent / f"{root.name}-{point.plan}-{point.fork}-{point.step or 'tip'}"


def run(text: str, directory: str | None = None) -> Checkout:
    root = find_root()
    point = resolve(Ledger(root), text)
    path = Path(directory).resolve() if directory else default_directory(root, point)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConductorError(
            f"{path} already exists", hint="give another directory: conductor checkout POINT DIR"
        )
    git(["worktree", "add", "--quiet", "--detach", str(path), point.commit], cwd=root)
    remember_checkout(path, point.plan, point.label)
    return Checkout(point, path)
