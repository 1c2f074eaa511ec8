"""`conductor adopt PLAN[/FORK] [--into BRANCH] [--ff|--merge|--squash] [--prune]`: bring a
finished fork into a branch, with the repository's hooks, and record it in the plan log."""

from __future__ import annotations

from conductor.runner.publish.adopt import Adopted, adopt


def run(target: str, *, into: str | None, strategy: str, prune: bool) -> Adopted:
    return adopt(target, into=into, strategy=strategy, prune=prune)
