"""`conductor pr [PLAN[/FORK]]`: push a fork and its records, and open or update its pull request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from conductor.project import find_root
from conductor.report import Report, plural
from conductor.runner.publish.pullrequest import PullRequest, open_pr

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class PrReport(Report):
    pr: PullRequest

    def to_json(self) -> c.PullRequest:
        pr = self.pr
        return {
            "plan": pr.plan,
            "fork": pr.fork,
            "branch": pr.branch,
            "remote": pr.remote,
            "pushed": pr.pushed,
            "action": cast("c.PrAction", pr.action),
            "repo": pr.repo,
            "number": pr.number,
            "url": pr.url,
            "draft": pr.draft,
            "title": pr.title,
            "body": pr.body,
            "body_file": pr.body_file,
        }

    def render(self) -> str:
        pr = self.pr
        sources = [r.removeprefix("refs/heads/") for r in pr.pushed[1:] if r.startswith("refs/heads/")]
        records = len(pr.pushed) - 1 - len(sources)
        also = f" (and {', '.join(sources)}, which it was forked from)" if sources else ""
        pushed = f"pushed {pr.branch}{also} and {plural(records, 'record ref')} to {pr.remote}"
        if pr.action == "written":
            return "\n".join(
                [
                    pushed,
                    f"{pr.remote} is not GitHub: the pull request's text is in {pr.body_file}",
                    "",
                    *pr.instructions,
                    "",
                    pr.body.rstrip(),
                ]
            )
        draft = " (draft)" if pr.draft else ""
        return f"{pushed}\n{pr.action} pull request #{pr.number}{draft} on {pr.repo}: {pr.url}"


def run(
    target: str | None = None,
    *,
    remote: str = "origin",
    state_remote: str | None = None,
    base: str | None = None,
    repo: str | None = None,
    draft: bool = False,
) -> PrReport:
    return PrReport(
        open_pr(
            find_root(), target, remote=remote, state_remote=state_remote, base=base, repo=repo, draft=draft
        )
    )
