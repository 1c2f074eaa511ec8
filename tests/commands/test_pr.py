"""`conductor pr` through the real CLI: a plan built by a scripted agent, pushed to a local bare
remote, opened and updated on a fake GitHub (tests/fakegithub) — and each way it can fail."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conductor.runner.publish import github as client
from conductor.runner.publish import pullrequest
from tests.conftest import free_port, git
from tests.fakegithub import FakeGitHub
from tests.scenario import HELLO_STEPS, TWO_FORKS, Project, build

TOKEN = "ghp_fake0123456789secret"
HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}
FIXED = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name.strip()}!'\n"}}


@pytest.fixture
def remote(proj: Project, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(proj.root, "remote", "add", "origin", str(bare))
    git(proj.root, "push", "-q", "--no-verify", "origin", "HEAD:refs/heads/main")
    return bare


@pytest.fixture
def fake(remote: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as instance:
        instance.add_repo("o", "r", remote)
        monkeypatch.setenv("GITHUB_API_URL", instance.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.delenv("GH_TOKEN", raising=False)
        yield instance


@pytest.fixture
def proj(proj: Project, request: pytest.FixtureRequest, prebuilt, run_cli) -> Project:
    """The project; for a test that asks for `plan`, a copy of one where the plan was built (once
    per test process): step_001 accepted after one rejected attempt, step_002 at once."""
    if "plan" not in request.fixturenames:
        return proj

    def make(template: Project) -> None:
        steps = [dict(HELLO_STEPS[0]), dict(HELLO_STEPS[1])]
        script = {
            "step_001": {"1": [{"write": {"hello.py": "syntax error ("}}], "*": [HELLO]},
            "step_002": [TEST],
            "step_003": [FIXED],  # what a revision asks for
        }
        result = build(
            run_cli, template, template.plan(steps, goal="Greet people by name"), template.agent(script)
        )
        assert result.code == 0, result.err

    return prebuilt("greet", make)


@pytest.fixture
def plan(proj: Project) -> str:
    return proj.only_plan()


def refs_in(bare: Path) -> str:
    return git(bare, "for-each-ref", "--format=%(refname)")


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_pr_creates_a_draft_then_updates_it_with_the_evidence_body(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, run_cli
) -> None:
    first = run_cli("pr", "--repo", "o/r", "--draft", "--json")
    assert first.code == 0, first.err
    data = json.loads(first.out)
    assert (data["action"], data["number"], data["draft"], data["fork"]) == ("created", 1, True, "main")
    (pull,) = fake.pulls("o", "r")
    assert pull["head"]["ref"] == f"conductor/{plan}/main" and pull["base"]["ref"] == "main"
    assert pull["draft"] is True and pull["title"] == "Greet people by name"
    body = pull["body"]
    assert "**Goal:** Greet people by name" in body
    assert "| step_001 | Create hello.py |" in body and "| step_002 | Test hello.py |" in body
    assert "accepted after 1 rejected" in body and "<details>" in body
    assert "⚠️ **MEDIUM**" in body and "proceed with caution" in body  # verified MEDIUM steps
    assert "sha256:" in body and "unsigned" in body
    assert (
        f"conductor verify {plan}" in body and "git fetch origin 'refs/conductor/*:refs/conductor/*'" in body
    )
    # the branch and every record ref are on the remote
    pushed = refs_in(remote)
    for ref in (
        f"refs/heads/conductor/{plan}/main",
        f"refs/conductor/plans/{plan}",
        f"refs/conductor/forks/{plan}/main",
    ):
        assert ref in pushed

    second = run_cli("pr", "--repo", "o/r")
    assert second.code == 0, second.err
    assert "updated pull request #1" in second.out
    assert len(fake.pulls("o", "r")) == 1
    methods = [(r.method, r.path) for r in fake.requests]
    assert methods == [
        ("GET", "/repos/o/r/pulls"),
        ("POST", "/repos/o/r/pulls"),
        ("GET", "/repos/o/r/pulls"),
        ("PATCH", "/repos/o/r/pulls/1"),
    ]
    assert fake.requests[0].query == {"head": [f"o:conductor/{plan}/main"], "state": ["open"]}
    for request in fake.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert TOKEN not in request.body
    assert set(fake.requests[3].json()) == {"title", "body"}
    # the token is in no output and nowhere in the repository's history or records
    assert TOKEN not in first.out + first.err + second.out + second.err
    for repo in (proj.root, remote):
        assert TOKEN not in git(repo, "log", "-p", "--all")


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_reviewers_fresh_clone_fetches_the_records_and_verifies(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, tmp_path: Path, run_cli, monkeypatch
) -> None:
    assert run_cli("pr", "--repo", "o/r").code == 0
    body = fake.pulls("o", "r")[0]["body"]
    fetch = next(line for line in body.splitlines() if line.startswith("git fetch origin"))
    clone = tmp_path / "reviewer"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    git(clone, *shlex.split(fetch)[1:])
    monkeypatch.chdir(clone)
    result = run_cli("verify", plan)
    assert result.code == 0, result.out + result.err
    assert "verified" in result.out


def test_no_token_fails_before_anything_is_pushed(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, run_cli, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    bin_dir = tmp_path / "bin"  # git but no gh on PATH
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "git")
    monkeypatch.setenv("PATH", str(bin_dir))
    result = run_cli("pr", "--repo", "o/r")
    assert result.code == 1
    assert "no GitHub token" in result.err and "hint:" in result.err
    assert "conductor/" not in refs_in(remote) and fake.requests == []


def test_a_refused_token_or_unknown_repository_pushes_nothing(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, run_cli, monkeypatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    result = run_cli("pr", "--repo", "o/r")
    assert result.code == 1 and "401" in result.err and "Bad credentials" in result.err
    assert "GITHUB_TOKEN" in result.err  # the hint
    assert "wrong" not in result.err
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    result = run_cli("pr", "--repo", "o/nope")
    assert result.code == 1 and "404" in result.err and "--repo OWNER/NAME" in result.err
    assert "conductor/" not in refs_in(remote)


def test_a_refused_connection_pushes_nothing(
    proj: Project, plan: str, remote: Path, run_cli, monkeypatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    result = run_cli("pr", "--repo", "o/r")
    assert result.code == 1 and "cannot reach the GitHub API" in result.err
    assert "conductor/" not in refs_in(remote)


def test_a_failed_push_makes_no_pull_request(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, run_cli
) -> None:
    # someone else's commit is on the remote branch: the push does not fast-forward
    git(proj.root, "push", "-q", "--no-verify", str(remote), f"main:refs/heads/conductor/{plan}/main")
    git(
        remote,
        "update-ref",
        f"refs/heads/conductor/{plan}/main",
        git(remote, "commit-tree", "-m", "theirs", "main^{tree}").strip(),
    )
    result = run_cli("pr", "--repo", "o/r")
    assert result.code == 1 and "no pull request was made" in result.err
    assert [r.method for r in fake.requests] == ["GET"] and fake.pulls("o", "r") == []


def test_a_head_pushed_elsewhere_is_refused_with_a_hint(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, tmp_path: Path, run_cli
) -> None:
    # the remote's push URL is honoured: the branch goes there, not where the pull request is
    other = tmp_path / "other.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    git(proj.root, "remote", "set-url", "--push", "origin", str(other))
    result = run_cli("pr", "--repo", "o/r")
    assert result.code == 1 and "422" in result.err and "Validation Failed" in result.err
    assert "pushed" in result.err  # the hint
    assert f"refs/heads/conductor/{plan}/main" in refs_in(other)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_records_go_to_the_state_remote(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, tmp_path: Path, run_cli
) -> None:
    private = tmp_path / "private.git"
    git(tmp_path, "init", "-q", "--bare", str(private))
    git(proj.root, "remote", "add", "records", str(private))
    assert run_cli("pr", "--repo", "o/r", "--state-remote", "records").code == 0
    assert "refs/conductor/" not in refs_in(remote) and f"refs/heads/conductor/{plan}/main" in refs_in(remote)
    assert f"refs/conductor/plans/{plan}" in refs_in(private)
    body = fake.pulls("o", "r")[0]["body"]
    assert f"git fetch origin conductor/{plan}/main:conductor/{plan}/main" in body
    assert f"git fetch {private} 'refs/conductor/*:refs/conductor/*'" in body


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://x-access-token:s3cret@github.com/o/r.git", "https://github.com/o/r.git"),
        ("ssh://git@host/o/r.git", "ssh://git@host/o/r.git"),
        ("/srv/r.git", "/srv/r.git"),
    ],
)
def test_a_remote_url_is_shown_without_credentials(url: str, shown: str) -> None:
    assert pullrequest.shown_url(url) == shown


def test_a_remote_that_is_not_github_gets_the_body_as_a_file(
    proj: Project, plan: str, remote: Path, run_cli, monkeypatch
) -> None:
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = run_cli("pr")
    assert result.code == 0, result.err
    written = proj.root / ".git" / "conductor" / "pr" / f"{plan}.md"
    assert written.read_text().startswith("# Greet people by name\n")
    assert "git request-pull" in result.out and "| step_001 |" in result.out
    assert f"refs/conductor/forks/{plan}/main" in refs_in(remote)


def test_a_second_open_pull_request_for_the_same_head_is_refused(
    fake: FakeGitHub, remote: Path, proj: Project
) -> None:
    git(proj.root, "push", "-q", "--no-verify", "origin", "HEAD:refs/heads/topic")
    api = client.GitHub(client.RepoName("", "o", "r"), token=TOKEN, base=fake.url)
    api.create(title="t", head="o:topic", base="main", body="b", draft=False)
    with pytest.raises(client.GitHubError) as caught:
        api.create(title="t", head="o:topic", base="main", body="b", draft=False)
    assert "A pull request already exists for o:topic." in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/o/r.git", ("github.com", "o", "r")),
        ("https://github.com/o/r", ("github.com", "o", "r")),
        ("git@github.com:o/r.git", ("github.com", "o", "r")),
        ("ssh://git@ghe.example.com:2222/o/r.git", ("ghe.example.com", "o", "r")),
        ("https://user@ghe.example.com/o/r/", ("ghe.example.com", "o", "r")),
        ("/srv/git/r.git", None),
        ("../r.git", None),
    ],
)
def test_owner_and_repository_from_a_remote_url(url: str, expected: tuple[str, str, str] | None) -> None:
    parsed = client.parse_remote_url(url)
    assert (None if parsed is None else (parsed.host, parsed.owner, parsed.name)) == expected


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_several_forks_open_the_recommended_one_with_the_comparison(
    proj: Project, fake: FakeGitHub, remote: Path, tmp_path: Path, run_cli, monkeypatch
) -> None:
    (proj.root / "forks.yaml").write_text(yaml.safe_dump(TWO_FORKS, sort_keys=False))
    git(proj.root, "add", "forks.yaml")
    git(proj.root, "commit", "-q", "-m", "forks")
    script = {
        "step_001": [{"write": {"notes.md": "# notes\n"}}],
        "step_002": [{"write": {"more.md": "more\n"}}],
    }
    assert run_cli("explore", "--plan", "forks.yaml", "--exec", proj.agent(script), "--yes").code == 0
    plan = proj.only_plan()
    result = run_cli("pr", "--repo", "o/r", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["fork"] == "long"
    body = fake.pulls("o", "r")[0]["body"]
    assert "**Strategy:** long notes" in body and "## Other forks" in body
    assert "Recommended: `long`" in body and "| short | completed |" in body
    assert f"conductor verify {plan} --fork long" in body
    # the other fork is a pull request of its own when asked for by name
    other = run_cli("pr", f"{plan}/short", "--repo", "o/r", "--json")
    assert other.code == 0, other.err
    assert json.loads(other.out)["number"] == 2 and "Recommended:" not in fake.pulls("o", "r")[1]["body"]
    # a reviewer verifies the fork of the pull request
    clone = tmp_path / "reviewer"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    fetch, verify = [line for line in body.splitlines() if line.startswith(("git fetch", "conductor verify"))]
    git(clone, *shlex.split(fetch)[1:])
    monkeypatch.chdir(clone)
    checked = run_cli(*shlex.split(verify)[1:])
    assert checked.code == 0, checked.out + checked.err


def test_the_token_of_gh_auth_is_used_when_no_variable_is_set(
    proj: Project, plan: str, fake: FakeGitHub, run_cli, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo {TOKEN}\n")
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = run_cli("pr", "--repo", "o/r")
    assert result.code == 0, result.err
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_unknown_fork_or_plan_is_named(proj: Project, plan: str, fake: FakeGitHub, run_cli) -> None:
    result = run_cli("pr", f"{plan}/nope", "--repo", "o/r")
    assert result.code == 1 and "has no fork nope" in result.err and "its forks: main" in result.err
    result = run_cli("pr", "nope-123", "--repo", "o/r")
    assert result.code == 1 and "no plan 'nope-123'" in result.err
    assert fake.requests == []


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_revise_from_pr_turns_a_review_comment_into_a_step_and_updates_the_pr(
    proj: Project, plan: str, fake: FakeGitHub, remote: Path, run_cli
) -> None:
    assert run_cli("pr", "--repo", "o/r").code == 0
    fake.review_comment("o", "r", 1, body="strip the name first", path="hello.py", line=2)
    revised = run_cli("revise", f"{plan}/main", "--from-pr", "--repo", "o/r", "--yes")
    assert revised.code == 0, revised.err
    task = json.loads(proj.record("completed/step_003.task.json"))
    assert "[hello.py:2] (reviewer) strip the name first" in task["instruction"]
    # accepted on the same branch, pushed, and the same pull request updated
    branch = f"conductor/{plan}/main"
    assert git(remote, "rev-parse", branch) == git(proj.root, "rev-parse", branch)
    assert "name.strip()" in git(remote, "show", f"{branch}:hello.py")
    (pull,) = fake.pulls("o", "r")
    assert "| step_003 | Address review comments |" in pull["body"]
    assert "pull request #1 updated" in revised.err


def test_revise_from_pr_without_an_open_pull_request_changes_nothing(
    proj: Project, plan: str, fake: FakeGitHub, run_cli
) -> None:
    result = run_cli("revise", f"{plan}/main", "--from-pr", "--repo", "o/r")
    assert result.code == 1 and f"no open pull request for conductor/{plan}/main in o/r" in result.err
    assert proj.state(plan).status == "completed"
