"""`conductor pr`: a fork becomes a pull request. Pick the fork, gather its facts from the ledger,
push its branch and the plan's records, then create or update the pull request on GitHub — or,
for a remote that is not GitHub, write the body to a file and say how to ask for the pull.

Order matters for "nothing half-done": the token and the repository are checked (one GET)
before anything is pushed, and no pull request is made when the push fails."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conductor.errors import ConductorError, NotFoundError
from conductor.gitcli import OVERRIDE_VARIABLE, git_text, hardened
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.progress import say
from conductor.runner.logs.plans import ANY_STATE, latest_plan, load_plan
from conductor.runner.publish import github, prbody, prsteps
from conductor.runner.views import compare


@dataclass
class PullRequest:
    """A fork pushed and its pull request opened, updated, or (not GitHub) written to a file."""

    plan: str
    fork: str
    branch: str
    remote: str
    pushed: list[str]
    title: str
    body: str
    action: str  # "created", "updated" or "written" (not GitHub)
    number: int | None = None
    url: str | None = None
    draft: bool = False
    repo: str | None = None
    body_file: str | None = None
    instructions: list[str] = field(default_factory=list)


def parse_target(target: str | None) -> tuple[str | None, str | None]:
    if not target:
        return None, None
    plan, _, fork = target.partition("/")
    return plan, fork or None


def choose_fork(
    ledger: Ledger, plan: str, fork: str | None
) -> tuple[str, list[compare.ForkSummary], str | None]:
    """The fork to open: the one named, else the recommended one (the only completed fork)."""
    summaries = compare.compare(ledger, plan)
    forks = [s.fork for s in summaries]
    if not forks:
        raise NotFoundError(f"plan {plan} has no forks", hint="`conductor status` lists plans and forks")
    best, reason = compare.recommend(summaries)
    if fork is not None:
        if fork not in forks:
            raise NotFoundError(f"plan {plan} has no fork {fork}", hint=f"its forks: {', '.join(forks)}")
        return fork, summaries, reason if best is not None and best.fork == fork else None
    completed = [s.fork for s in summaries if s.status == "completed"]
    if best is None and len(forks) == 1 and completed:
        return completed[0], summaries, None  # the plan's only fork: nothing to choose from
    if best is None:
        what = "to recommend" if completed else "completed"
        raise ConductorError(
            f"no fork of plan {plan} {what}: {reason}; no pull request was opened",
            hint=f"name one to open it anyway: conductor pr {plan}/FORK (forks: {', '.join(forks)})",
        )
    return best.fork, summaries, reason


def newest_plan(ledger: Ledger) -> str:
    """The plan `conductor pr` opens when none is named: the newest one not abandoned (an
    abandoned plan is work a person gave up on, not work to review)."""
    if not ledger.plans():
        raise NotFoundError("no plans are recorded in this repository", hint="run `conductor build` first")
    try:
        return latest_plan(ledger, states=tuple(s for s in ANY_STATE if s != "abandoned"))
    except ConductorError:
        raise ConductorError(
            "every plan recorded here was abandoned: no plan to open a pull request for",
            hint="name one to open it anyway: conductor pr PLAN[/FORK] (`conductor status --all` lists them)",
        ) from None


def gather(
    ledger: Ledger, plan: str, fork: str, summaries: list[compare.ForkSummary], why: str | None
) -> prbody.PrFacts:
    """Everything the body says, read from the plan and fork logs (and, for a plan made by
    fork --from, those of the plans whose steps its branch carries)."""
    record = load_plan(ledger, plan)
    steps = prsteps.on_branch(ledger, plan, fork)
    mine = next(s for s in summaries if s.fork == fork)
    return prbody.PrFacts(
        plan=plan,
        fork=fork,
        goal=record.goal,
        strategy=mine.strategy or next((f.strategy for f in record.spec.forks if f.id == fork), ""),
        branch=refs.short_branch(plan, fork),
        base=record.base,
        steps=steps,
        tokens=mine.tokens,
        forks=compare.table_rows(summaries),
        recommendation=why,
        several_forks=len(summaries) > 1,
    )


def shown_url(url: str) -> str:
    """A remote URL as it may be printed: without a user:password (or token) in it."""
    return re.sub(r"^(https?://)[^@/]+@", r"\1", url, flags=re.I)


def _remote_url(root: Path, remote: str, *, push: bool = False) -> str:
    try:
        return git_text(["remote", "get-url", *(["--push"] if push else []), remote], cwd=root)
    except ConductorError:
        raise ConductorError(
            f"no git remote named {remote}", hint="`git remote -v` lists them; choose one with --remote NAME"
        ) from None


def lease(root: Path, remote: str, branch: str) -> str | None:
    """`--force-with-lease` for the branch when this clone knows where the remote had it (the
    branch moves on after a repair or reviewer commits); else None: a plain push, which git
    refuses unless it fast-forwards."""
    tracking = f"refs/remotes/{remote}/{branch.removeprefix('refs/heads/')}"
    try:
        known = git_text(["rev-parse", "--verify", "--quiet", tracking], cwd=root)
    except ConductorError:
        return None
    return f"--force-with-lease={branch}:{known}"


def push(root: Path, remote: str, refspecs: list[str], *, options: list[str] | None = None) -> None:
    """`git push --porcelain` by remote name (so its pushurl applies); hooks off as for every
    git command Conductor runs. A failure says which it is: no such repository, refused
    credentials, a branch that moved on the remote, or something else (git's words)."""
    args = ["git", "push", "--porcelain", *(options or []), remote, *refspecs]
    env = hardened()
    env.pop(OVERRIDE_VARIABLE, None)
    try:
        proc = subprocess.run(args, cwd=root, capture_output=True, env=env, check=False)
    except FileNotFoundError:
        raise ConductorError("git is not installed or not on PATH") from None
    if proc.returncode == 0:
        return
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    why, hint = push_failure(remote, out, err, url=shown_url(_remote_url(root, remote, push=True)))
    said = [
        re.sub(r"(https?://)[^@/\s]+@", r"\1", line)  # no user:password (or token) of a URL
        for line in err.splitlines()
        if line.strip() and not line.startswith("hint:")
    ]
    raise ConductorError(
        f"pushing to {remote} failed: {why}; no pull request was made."
        + (f" git said: {' '.join(said)}" if said else ""),
        hint=hint,
    )


NO_REPOSITORY = (  # git's words (lowercased) when there is no repository at the URL
    "does not appear to be a git repository",
    "repository not found",
    "' not found",
    "returned error: 404",
)
NO_ACCESS = (  # and when the host refused the credentials, or git had none to give
    "authentication failed",
    "could not read username",
    "could not read password",
    "permission denied",
    "access denied",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "terminal prompts disabled",
)


def push_failure(remote: str, porcelain: str, err: str, *, url: str) -> tuple[str, str]:
    """What a failed push means, and what to do: from the refs git rejected (its porcelain
    lines, `!<tab>from:to<tab>[rejected] (reason)`) or, when it never got that far, its error."""
    rejected = [line.split("\t") for line in porcelain.splitlines() if line.startswith("!")]
    for fields in rejected:
        ref = (fields[1].partition(":")[2] if len(fields) > 1 else "a ref").removeprefix("refs/heads/")
        reason = fields[2] if len(fields) > 2 else ""
        if "[remote rejected]" in reason:
            return (
                f"{remote} refused {ref} {reason.removeprefix('[remote rejected]').strip()}",
                f"the remote's own rules refused it (a protected branch or a server hook): ask"
                f" whoever runs {url}, or push to a remote of your own with --remote NAME",
            )
        why = reason.removeprefix("[rejected]").strip()  # (non-fast-forward), (fetch first), (stale info)
        return (
            f"{ref} on {remote} has commits this clone does not have {why}",
            f"someone else pushed to it: `git fetch {remote}` and look at what is there before"
            " pushing again (Conductor never overwrites it)",
        )
    lowered = err.lower()
    if any(sign in lowered for sign in NO_ACCESS):
        return (
            f"{url} refused the credentials (or found none)",
            f"check that you may push to {url}: a token with write access for HTTPS, or an SSH key"
            " the host knows (`git push` by hand shows the same)",
        )
    if any(sign in lowered for sign in NO_REPOSITORY):
        return (
            f"there is no repository at {url}",
            f"check the remote's URL (`git remote get-url --push {remote}`; fix it with"
            f" `git remote set-url {remote} URL`), or create the repository there first",
        )
    return (
        f"{url} could not be reached or refused the push",
        f"check the address and your network, then `git push {remote}` by hand to see git's own account",
    )


def default_branch(root: Path, remote: str) -> str:
    """The remote's default branch as this clone knows it (`<remote>/HEAD`), else main."""
    try:
        head = git_text(["symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD"], cwd=root)
    except ConductorError:
        return "main"
    return head.removeprefix(f"refs/remotes/{remote}/") or "main"


def push_branch(root: Path, remote: str, branch: str) -> None:
    with_lease = lease(root, remote, branch)
    push(root, remote, [f"{branch}:{branch}"], options=[with_lease] if with_lease else [])


@dataclass(frozen=True)
class Target:
    """Where the pull request goes: a GitHub repository and API, or None (not GitHub)."""

    repo: github.RepoName | None
    head_owner: str | None
    api: str


def resolve(root: Path, remote: str, repo: str | None) -> Target:
    url = _remote_url(root, remote)
    api = github.api_url()
    parsed = github.parse_remote_url(url)
    pushed_to = github.parse_remote_url(_remote_url(root, remote, push=True))
    if repo is not None:
        target = github.parse_slug(repo)
    elif parsed is not None and (parsed.host == "github.com" or api is not None):
        target = parsed
    else:
        return Target(None, None, "")
    # the head lives where the branch is pushed: a pushurl to one's own fork of the repository
    owner = pushed_to.owner if pushed_to is not None and pushed_to.name == target.name else target.owner
    return Target(target, owner, api or github.DEFAULT_API)


def review_comments(
    root: Path, plan: str, fork: str, *, remote: str, repo: str | None
) -> list[dict[str, Any]]:
    """The review comments of the open pull request of a fork's branch (GitHub only)."""
    where = resolve(root, remote, repo)
    if where.repo is None:
        raise github.GitHubError(
            f"remote '{remote}' is not on GitHub: no pull request to read comments from",
            hint='give the comments with --comment "path:line: text"',
        )
    token = github.find_token()
    if token is None:
        raise github.GitHubError(
            "no GitHub token: set GITHUB_TOKEN or GH_TOKEN", hint="or log in with `gh auth login`"
        )
    api = github.GitHub(where.repo, token=token, base=where.api)
    branch = refs.short_branch(plan, fork)
    pr = api.find_open(f"{where.head_owner}:{branch}")
    if pr is None:
        raise github.GitHubError(
            f"no open pull request for {branch} in {where.repo.slug}",
            hint=f"open one with `conductor pr {plan}/{fork}`",
        )
    return api.review_comments(pr.number)


def open_pr(
    root: Path,
    target: str | None,
    *,
    remote: str,
    state_remote: str | None,
    base: str | None,
    repo: str | None,
    draft: bool,
) -> PullRequest:
    ledger = Ledger(root)
    plan, fork = parse_target(target)
    if plan is None:
        plan = newest_plan(ledger)
        say(f"conductor pr: plan {plan}, the newest plan not abandoned (name another: conductor pr PLAN)")
    load_plan(ledger, plan)
    fork, summaries, why = choose_fork(ledger, plan, fork)
    facts = gather(ledger, plan, fork, summaries, why)
    if state_remote is not None:
        facts = replace(facts, records_from=shown_url(_remote_url(root, state_remote)))
    inherited = prsteps.source_branches(ledger, plan)
    facts = replace(facts, source_branches=tuple(r.removeprefix("refs/heads/") for r in inherited))
    body, title = prbody.render(facts), prbody.title(facts)
    branch = refs.code_branch(plan, fork)
    if ledger.points_at(branch) is None:
        raise NotFoundError(f"{facts.branch} does not exist", hint="it was deleted: nothing to push")
    state_refs = [refs.plan_log(plan)] + [refs.fork_log(plan, f) for f in ledger.forks(plan)]
    state_refs += prsteps.record_refs(ledger, plan)  # the records of the steps it inherits
    live = set(ledger.ref_names(*state_refs))  # an archived log is pushed from its archived tip
    sources = {r: r if r in live else str(ledger.log_end(r)) for r in state_refs}
    where = resolve(root, remote, repo)
    pushed = [facts.branch, *state_refs, *inherited]

    if where.repo is None:  # not GitHub: push, then the body as a file
        for each in (branch, *inherited):
            push_branch(root, remote, each)
        push(root, state_remote or remote, [f"{sources[r]}:{r}" for r in state_refs])
        out = Path(git_text(["rev-parse", "--git-common-dir"], cwd=root))
        out = (root / out if not out.is_absolute() else out) / "conductor" / "pr" / f"{plan}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"# {title}\n\n{body}", encoding="utf-8")
        url = shown_url(_remote_url(root, remote))
        return PullRequest(
            plan, fork, facts.branch, remote, pushed, title, body, "written",
            body_file=str(out),
            instructions=[
                "Ask for the pull (the text above goes with it):",
                f"  git request-pull {base or facts.base[:12]} {url} {facts.branch}",
            ],
        )  # fmt: skip

    token = github.find_token()
    if token is None:
        raise github.GitHubError(
            "no GitHub token: set GITHUB_TOKEN or GH_TOKEN (nothing was pushed)",
            hint="create a token with pull requests: write, or log in with `gh auth login`",
        )
    api = github.GitHub(where.repo, token=token, base=where.api)
    head = f"{where.head_owner}:{facts.branch}"
    existing = api.find_open(head)  # checks the token and the repository before any push
    for each in (branch, *inherited):
        push_branch(root, remote, each)
    push(root, state_remote or remote, [f"{sources[r]}:{r}" for r in state_refs])
    if existing is not None:
        pr, action = api.update(existing.number, title=title, body=body), "updated"
    else:
        into = base or default_branch(root, remote)
        pr, action = api.create(title=title, head=head, base=into, body=body, draft=draft), "created"
    return PullRequest(
        plan, fork, facts.branch, remote, pushed, title, body, action,
        number=pr.number, url=pr.url, draft=pr.draft, repo=where.repo.slug,
    )  # fmt: skip
