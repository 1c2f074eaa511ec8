"""GitHub's REST API for pull requests (list, create, update), over httpx2 — the one module that
talks to GitHub. Where the repository is (owner/name from a remote URL), which token to use
(GITHUB_TOKEN, GH_TOKEN, `gh auth token`), and errors that say what to do. The token is sent
in a header and never printed or recorded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from conductor.errors import ConductorError

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
TIMEOUT_SECONDS = 30.0

_URL_FORMS = (
    re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>.+)$", re.I),
    re.compile(r"^(?:[^@/]+@)?(?P<host>[^/:]+):(?P<path>[^/].*)$"),  # scp-like: git@host:o/r.git
)


class GitHubError(ConductorError):
    """GitHub refused or could not be reached; the message quotes GitHub, the hint says what to do."""


@dataclass(frozen=True)
class RepoName:
    host: str
    owner: str
    name: str

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"


def parse_remote_url(url: str) -> RepoName | None:
    """host, owner and repository of https://host/o/r(.git), git@host:o/r.git or
    ssh://git@host/o/r.git; None for a local path or anything else."""
    if url.startswith(("/", ".", "file:")) or re.match(r"^[A-Za-z]:[\\/]", url):
        return None
    for form in _URL_FORMS:
        match = form.match(url.strip())
        if match:
            parts = match.group("path").removesuffix("/").removesuffix(".git").split("/")
            if len(parts) >= 2 and all(parts[-2:]):
                return RepoName(match.group("host").lower(), parts[-2], parts[-1])
    return None


def parse_slug(slug: str) -> RepoName:
    owner, _, name = slug.partition("/")
    if not owner or not name or "/" in name:
        raise ConductorError(f"--repo {slug}: expected OWNER/NAME", hint="for example --repo acme/app")
    return RepoName("", owner, name.removesuffix(".git"))


def api_url() -> str | None:
    """GITHUB_API_URL when set (GitHub Enterprise, GitHub Actions), else None."""
    return os.environ.get("GITHUB_API_URL") or None


def find_token() -> str | None:
    """GITHUB_TOKEN, GH_TOKEN, else what `gh auth token` prints when gh is installed."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        if os.environ.get(name):
            return os.environ[name]
    gh = shutil.which("gh")
    if gh is None:
        return None
    try:
        proc = subprocess.run([gh, "auth", "token"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = proc.stdout.strip()
    return token if proc.returncode == 0 and token else None


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    state: str
    draft: bool
    title: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PullRequest:
        return cls(
            number=int(data["number"]),
            url=str(data.get("html_url", "")),
            state=str(data.get("state", "")),
            draft=bool(data.get("draft", False)),
            title=str(data.get("title", "")),
        )


class GitHub:
    """A client for one repository's pull requests."""

    def __init__(self, repo: RepoName, *, token: str, base: str = DEFAULT_API) -> None:
        self.repo = repo
        self.base = base.rstrip("/")
        self._token = token

    def find_open(self, head: str) -> PullRequest | None:
        """The open pull request whose head is `owner:branch`, if any."""
        found = self._call("GET", "/pulls", params={"head": head, "state": "open"})
        return PullRequest.from_json(found[0]) if isinstance(found, list) and found else None

    def create(self, *, title: str, head: str, base: str, body: str, draft: bool) -> PullRequest:
        data = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        return PullRequest.from_json(self._call("POST", "/pulls", json=data))

    def update(self, number: int, *, title: str, body: str) -> PullRequest:
        return PullRequest.from_json(
            self._call("PATCH", f"/pulls/{number}", json={"title": title, "body": body})
        )

    def review_comments(self, number: int) -> list[dict[str, Any]]:
        """The pull request's review comments (on lines of its diff), oldest first."""
        found = self._call("GET", f"/pulls/{number}/comments", params={"per_page": 100})
        return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx2

        url = f"{self.base}/repos/{self.repo.owner}/{self.repo.name}{path}"
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "conductor",
        }
        try:
            with httpx2.Client(timeout=TIMEOUT_SECONDS) as client:
                response = client.request(method, url, headers=headers, **kwargs)
        except httpx2.TransportError as exc:
            raise GitHubError(
                f"cannot reach the GitHub API at {self.base}: {exc}",
                hint="check the network, or GITHUB_API_URL for GitHub Enterprise",
            ) from None
        if response.status_code >= 400:
            raise self._error(method, response.status_code, _json(response))
        return _json(response)

    def _error(self, method: str, status: int, data: Any) -> GitHubError:
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        details = [
            str(e.get("message") or e.get("code"))
            for e in (data.get("errors") or [] if isinstance(data, dict) else [])
            if isinstance(e, dict)
        ]
        said = "; ".join(filter(None, [message, *details])) or f"HTTP {status}"
        where = f"{self.repo.slug} at {self.base}"
        if status == 401:
            hint = (
                "the token was refused: set GITHUB_TOKEN (or GH_TOKEN) to a valid token, or `gh auth login`"
            )
        elif status == 403:
            hint = "the token lacks permission: it needs pull requests: write (and contents: read)"
        elif status == 404:
            hint = "no such repository, or the token cannot see it: check --repo OWNER/NAME and its access"
        elif status == 422 and any("already exists" in d for d in details):
            hint = "a pull request for this branch exists but is not open to this token; see it on GitHub"
        elif status == 422:
            hint = "check that the branch was pushed to the repository the pull request is for, and --base"
        else:
            hint = None
        return GitHubError(f"GitHub answered {status} to {method} on {where}: {said}", hint=hint)


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"message": response.text[:200]}
