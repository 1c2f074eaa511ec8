"""`conductor adopt PLAN[/FORK] [--into BRANCH] [--ff|--merge|--squash] [--prune]`: bring a
finished fork into a branch, with the repository's hooks, and record it in the plan log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.ledger import refs
from conductor.report import Report, plural
from conductor.runner.publish.adopt import Adopted, adopt

if TYPE_CHECKING:
    from conductor.commands.output import contract as c

HOW = {"ff": "fast-forwarded", "merge": "merged", "squash": "squashed"}


@dataclass
class AdoptReport(Report):
    done: Adopted

    def to_json(self) -> c.Adoption:
        d = self.done
        return {
            "plan": d.plan,
            "fork": d.fork,
            "branch": d.branch,
            "into": d.into,
            "strategy": cast("c.Strategy", d.strategy),
            "previous": d.previous,
            "commit": d.commit,
            "up_to_date": d.up_to_date,
            "chosen": d.chosen or None,
            "steps": d.steps,
            "pruned": d.pruned,
            "kept": d.kept,
            "notes": d.notes,
            "tip": d.tip,
        }

    def render(self) -> str:
        d = self.done
        lines = [*(f"note: {n}" for n in d.notes)]
        if d.up_to_date:
            lines.append(f"{d.into} already contains {d.branch}: nothing to adopt")
        else:
            lines.append(
                f"plan {d.plan}: fork {d.fork} {HOW[d.strategy]} into {d.into}"
                f" ({d.previous[:12]} → {d.commit[:12]}, {plural(len(d.steps), 'step commit')})"
            )
        if d.chosen:
            lines.append(f"  fork {d.fork}: {d.chosen}")
        if d.pruned:
            lines.append(
                f"  pruned branches: {', '.join(d.pruned)} (their logs stay; their commits are kept"
                f" under {refs.KEPT_PREFIX}{d.plan}/, so `conductor verify` still checks them)"
            )
        lines.extend(f"  kept {k}" for k in d.kept)
        lines.append(f"Review: git log --stat {d.previous[:12]}..{d.into}")
        return "\n".join(lines)


def run(target: str, *, into: str | None, strategy: str, prune: bool) -> AdoptReport:
    return AdoptReport(adopt(target, into=into, strategy=strategy, prune=prune))
