"""A local, offline fake of GitHub's REST API for pull requests, on 127.0.0.1.

Repositories are backed by bare git repositories (a head branch must be in one to open a pull
request). It answers as GitHub documents: a bearer token is required (401 "Bad credentials"),
an unknown repository is 404 "Not Found", a second open pull request for the same head or a
head that was not pushed is 422 "Validation Failed". Every request is recorded::

    with FakeGitHub(token="t0k") as fake:
        fake.add_repo("o", "r", bare_path)
        # GITHUB_API_URL=fake.url, GITHUB_TOKEN=t0k, conductor pr --repo o/r
        fake.pulls("o", "r")[0]["draft"]
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeGitHub", "Recorded"]

DOCS = "https://docs.github.com/rest/pulls/pulls"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Refusal(Exception):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("message"))
        self.status = status
        self.payload = payload


def _validation(message: str, code: str = "custom", field: str | None = None) -> _Refusal:
    error: dict[str, Any] = {"resource": "PullRequest", "code": code}
    if code == "custom":
        error["message"] = message
    if field:
        error["field"] = field
    return _Refusal(422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS})


class FakeGitHub:
    """One fake GitHub; a context manager (serves from enter to exit)."""

    def __init__(self, *, token: str) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self._repos: dict[tuple[str, str], Path] = {}
        self._pulls: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.comments: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()

    def add_repo(self, owner: str, name: str, bare: Path) -> None:
        self._repos[(owner, name)] = bare
        self._pulls[(owner, name)] = []

    def review_comment(self, owner: str, name: str, number: int, *, body: str, path: str, line: int) -> None:
        """Seed a review comment as GitHub lists it (`GET …/pulls/{n}/comments`)."""
        found = self.comments.setdefault((owner, name), [])
        found.append(
            {
                "id": len(found) + 1,
                "pull_request_number": number,
                "body": body,
                "path": path,
                "line": line,
                "original_line": line,
                "side": "RIGHT",
                "user": {"login": "reviewer"},
            }
        )

    def pulls(self, owner: str, name: str) -> list[dict[str, Any]]:
        return self._pulls[(owner, name)]

    # the API

    def _answer(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> Any:
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise _Refusal(
                401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
            )
        parts = path.strip("/").split("/")
        if (
            len(parts) < 4
            or parts[0] != "repos"
            or parts[3] != "pulls"
            or (parts[1], parts[2]) not in self._repos
        ):
            raise _Refusal(404, {"message": "Not Found", "documentation_url": DOCS})
        key = (parts[1], parts[2])
        pulls = self._pulls[key]
        if method == "GET" and len(parts) == 4:
            head = query.get("head", [None])[0]
            state = query.get("state", ["open"])[0]
            return 200, [
                p
                for p in pulls
                if (state == "all" or p["state"] == state) and (head is None or p["head"]["label"] == head)
            ]
        if method == "GET" and len(parts) == 6 and parts[4].isdigit() and parts[5] == "comments":
            return 200, [c for c in self.comments.get(key, []) if c["pull_request_number"] == int(parts[4])]
        if method == "POST" and len(parts) == 4:
            return 201, self._create(key, json.loads(body or b"{}"))
        if method == "PATCH" and len(parts) == 5 and parts[4].isdigit():
            pull = next((p for p in pulls if p["number"] == int(parts[4])), None)
            if pull is None:
                raise _Refusal(404, {"message": "Not Found", "documentation_url": DOCS})
            data = json.loads(body or b"{}")
            pull.update({name: data[name] for name in ("title", "body", "state") if name in data})
            if "base" in data:
                pull["base"] = {**pull["base"], "ref": data["base"]}
            return 200, pull
        raise _Refusal(404, {"message": "Not Found", "documentation_url": DOCS})

    def _create(self, key: tuple[str, str], data: dict[str, Any]) -> dict[str, Any]:
        for name in ("title", "head", "base"):
            if not data.get(name):
                raise _validation("", code="missing_field", field=name)
        owner = key[0]
        head = str(data["head"])
        label = head if ":" in head else f"{owner}:{head}"
        branch = label.split(":", 1)[1]
        bare = self._repos[key]
        if not _has_branch(bare, branch):
            raise _validation("", code="invalid", field="head")
        if not _has_branch(bare, str(data["base"])):
            raise _validation("", code="invalid", field="base")
        pulls = self._pulls[key]
        if any(p["state"] == "open" and p["head"]["label"] == label for p in pulls):
            raise _validation(f"A pull request already exists for {label}.")
        number = len(pulls) + 1
        pull = {
            "number": number,
            "html_url": f"https://github.com/{key[0]}/{key[1]}/pull/{number}",
            "url": f"{self.url}/repos/{key[0]}/{key[1]}/pulls/{number}",
            "state": "open",
            "draft": bool(data.get("draft", False)),
            "title": data["title"],
            "body": data.get("body"),
            "head": {"label": label, "ref": branch},
            "base": {"label": f"{owner}:{data['base']}", "ref": data["base"]},
        }
        pulls.append(pull)
        return pull

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 30

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = parse_qs(url.query)
                with fake._lock:
                    fake.requests.append(
                        Recorded(self.command, url.path, query, dict(self.headers.items()), body.decode())
                    )
                    try:
                        status, payload = fake._answer(self.command, url.path, query, self.headers, body)
                    except _Refusal as refusal:
                        status, payload = refusal.status, refusal.payload
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _has_branch(bare: Path, branch: str) -> bool:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=bare,
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0
