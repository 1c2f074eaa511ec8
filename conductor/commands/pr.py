"""`conductor pr [PLAN[/FORK]]`: push a fork and its records, and open or update its pull request."""

from __future__ import annotations

from conductor.project import find_root
from conductor.runner.publish.pullrequest import PrReport, open_pr


def run(
    target: str | None = None,
    *,
    remote: str = "origin",
    state_remote: str | None = None,
    base: str | None = None,
    repo: str | None = None,
    draft: bool = False,
) -> PrReport:
    return open_pr(
        find_root(), target, remote=remote, state_remote=state_remote, base=base, repo=repo, draft=draft
    )
