"""Tests of the OpenAI Chat Completions fake (`fakes.openai_chat`): the real aider CLI edits a git
repository through it (whole-file and SEARCH/REPLACE formats, streamed and not, and inside
bubblewrap on a worktree with a private git directory, as Conductor runs it), does nothing when
no Turn matches; the official `openai` SDK parses the fake's answers."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from .fakes.base import Turn
from .fakes.openai_chat import NOTHING_TO_DO, FakeOpenAIChat

pytestmark = pytest.mark.slow  # each runs the real agent CLI

AIDER = Path("/opt/conductor-agents/bin/aider")
needs_aider = pytest.mark.skipif(not AIDER.exists(), reason=f"the pinned aider is not installed at {AIDER}")
GIT = ["git", "-c", "user.email=test@example.invalid", "-c", "user.name=test"]
MODEL = "fake-model"
# The flags the agent profile passes: one message read whole from stdin (the leading newline
# keeps aider from running an instruction that starts with "/" or "!" as one of its commands),
# every question answered yes, no update check, release notes, analytics, commits, .gitignore
# edit, lint round, shell suggestions, URL scraping or repo map; its logs go to the result dir.
AIDER_FLAGS = (
    "--message-file /dev/stdin --yes-always --no-pretty --no-fancy-input --no-check-update"
    " --no-show-release-notes --no-analytics --no-auto-commits --no-dirty-commits --no-gitignore"
    " --no-auto-lint --no-suggest-shell-commands --no-detect-urls --map-tokens 0 --no-show-model-warnings"
    ' --chat-history-file "$CONDUCTOR_RESULT_DIR/aider.chat.history.md" --input-history-file /dev/null'
    ' --analytics-log "$CONDUCTOR_RESULT_DIR/aider.analytics.jsonl"'
)
# aider asks raw.githubusercontent.com for an unknown model's context window; this spares it.
METADATA = {
    f"openai/{MODEL}": {
        "max_input_tokens": 128000,
        "max_output_tokens": 8192,
        "input_cost_per_token": 0,
        "output_cost_per_token": 0,
        "litellm_provider": "openai",
        "mode": "chat",
    }
}
INSTRUCTION = 'Create hello.txt and update README.md.\nKeep "quotes", $HOME and `ticks` as they are.\n'


def aider_command(url: str, extra: str = "") -> str:
    """The non-interactive aider command the agent profile runs (instruction on stdin)."""
    model = f"--model openai/{MODEL} --openai-api-base {shlex.quote(url)}"
    return f"{{ printf '\\n'; cat; }} | {shlex.quote(str(AIDER))} {model} {AIDER_FLAGS} {extra}".rstrip()


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content, encoding="utf-8")
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-qm", "init"], check=True)
    return path


def agent_env(tmp: Path) -> dict[str, str]:
    """The environment Conductor gives the agent: a fresh HOME (seeded with the fake model's
    metadata), its own TMPDIR and result dir, and the provider's key."""
    home, temp, results = tmp / "home", tmp / "home" / "tmp", tmp / "results"
    for directory in (home, temp, results):
        directory.mkdir(parents=True, exist_ok=True)
    (home / ".aider.model.metadata.json").write_text(json.dumps(METADATA), encoding="utf-8")
    task = results / "task.json"
    task.write_text(json.dumps({"instruction": INSTRUCTION}), encoding="utf-8")
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(temp),
        "OPENAI_API_KEY": "sk-fake",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "BROWSER": "true",
        # aider writes a placeholder user.name/email into the repository's config when git has none
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "user.name",
        "GIT_CONFIG_VALUE_0": "Conductor agent",
        "GIT_CONFIG_KEY_1": "user.email",
        "GIT_CONFIG_VALUE_1": "agent@conductor.invalid",
        "CONDUCTOR_RESULT_DIR": str(results),
        "CONDUCTOR_TASK_FILE": str(task),
    }


def run(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], prompt: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=cwd, env=env, input=prompt, text=True, capture_output=True, timeout=120, check=False
    )


def run_aider(
    fake: FakeOpenAIChat, repo: Path, tmp: Path, prompt: str, extra: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**agent_env(tmp), "CONDUCTOR_WORKSPACE": str(repo)}
    return run(["/bin/sh", "-c", aider_command(fake.url, extra)], cwd=repo, env=env, prompt=prompt)


def git_status(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def last_user_text(body: Any) -> str:
    return str([m for m in body["messages"] if m["role"] == "user"][-1]["content"])


def analytics(tmp: Path) -> list[str]:
    lines = (tmp / "results" / "aider.analytics.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["event"] for line in lines]


@needs_aider
def test_aider_writes_the_scripted_files_in_the_whole_format(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "old readme\n"})
    turn = Turn(match=["hello.txt"], files={"hello.txt": "hello, world\n", "README.md": "new readme\n"})
    with FakeOpenAIChat([turn]) as fake:
        proc = run_aider(fake, repo, tmp_path, INSTRUCTION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "hello.txt").read_text() == "hello, world\n"
    assert (repo / "README.md").read_text() == "new readme\n"
    assert [(s.path, s.status, s.turn) for s in fake.seen] == [("/v1/chat/completions", 200, turn)]
    body = fake.seen[0].body
    assert body["stream"] is True and body["model"] == MODEL
    assert INSTRUCTION.strip() in last_user_text(body)  # one message, quotes/$/backticks intact
    assert "Applied edit to hello.txt" in proc.stdout
    # No scratch files, no commit, no .gitignore edit: only the edits. aider `git add`s a file
    # it creates (empty), then writes it.
    assert sorted(git_status(repo).splitlines()) == [" M README.md", "AM hello.txt"]
    log = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True, check=True
    )
    assert log.stdout.strip() == "1"
    assert "message_send" in analytics(tmp_path)  # the sign that the model answered


@needs_aider
def test_aider_changes_nothing_when_no_turn_matches(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "readme\n"})
    turn = Turn(match=["never said"], files={"README.md": "changed\n"})
    with FakeOpenAIChat([turn]) as fake:
        proc = run_aider(fake, repo, tmp_path, "Rename the project in README.md, please.\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert NOTHING_TO_DO in proc.stdout
    assert [(s.status, s.turn) for s in fake.seen] == [(200, None)]
    assert fake.script.used == []
    assert git_status(repo) == ""


@needs_aider
def test_aider_search_replace_on_a_file_it_was_not_shown(tmp_path: Path) -> None:
    """In the "diff" format, unstreamed: the answer names a file aider had not added, so aider
    adds it and asks again; the fake answers again with the content it was shown."""
    repo = make_repo(tmp_path / "repo", {"src/app.py": 'print("hi")\n', "README.md": "readme\n"})
    turn = Turn(match=["greeting"], files={"src/app.py": 'print("hello")\n', "docs/new.md": "# New\n"})
    with FakeOpenAIChat([turn]) as fake:
        proc = run_aider(fake, repo, tmp_path, "Make the greeting longer.", "--edit-format diff --no-stream")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "src/app.py").read_text() == 'print("hello")\n'
    assert (repo / "docs/new.md").read_text() == "# New\n"
    assert [s.turn for s in fake.seen] == [turn, turn]
    assert all(not s.body.get("stream") for s in fake.seen)
    assert last_user_text(fake.seen[1].body).startswith("I added these files to the chat: src/app.py")
    assert fake.script.used == [0]


@needs_aider
def test_aider_in_bubblewrap_on_a_worktree_with_a_private_git_dir(tmp_path: Path) -> None:
    from conductor.sandbox import bwrap, gitview

    if reason := bwrap.unavailable():
        pytest.skip(f"no sandbox: {reason}")
    repo = make_repo(tmp_path / "repo", {"README.md": "readme\n"})
    worktree = tmp_path / "worktrees" / "step"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "-b", "step", str(worktree)], check=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    dot_git = gitview.prepare(scratch, worktree=worktree, git_dir=repo / ".git")
    env = {**agent_env(tmp_path), "CONDUCTOR_WORKSPACE": str(worktree)}
    mounts = bwrap.Mounts(
        hidden=[repo],
        readable=[repo / ".git" / "objects"],
        writable=[worktree, scratch, tmp_path / "home", tmp_path / "results"],
        files=[(dot_git, worktree / ".git")],
    )
    turn = Turn(match=["hello.txt"], files={"hello.txt": "from the sandbox\n"})
    with FakeOpenAIChat([turn]) as fake:
        argv = bwrap.command(["/bin/sh", "-c", aider_command(fake.url)], mounts, cwd=worktree)
        proc = run(argv, cwd=worktree, env=env, prompt=INSTRUCTION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (worktree / "hello.txt").read_text() == "from the sandbox\n"
    assert [s.turn for s in fake.seen] == [turn]
    assert git_status(repo) == ""  # the repository itself is untouched
    assert "Your Name" not in (scratch / "git" / "config").read_text()  # aider wrote no identity


# -- the official SDK reads the fake's answers --------------------------------------------------

WHOLE_SYSTEM = "Act as an expert software developer.\nUse a *file listing*.\n- Final line: closing ```\n"


def test_the_openai_sdk_parses_the_fake_answers() -> None:
    openai = pytest.importorskip("openai")
    turn = Turn(match=["hello.txt"], files={"hello.txt": "hi\n"}, say="All done.")
    messages: Any = [
        {"role": "system", "content": WHOLE_SYSTEM},
        {"role": "user", "content": "Create hello.txt"},
    ]
    with FakeOpenAIChat([turn, Turn(match=["again"], files={"a.txt": "a\n"})]) as fake:
        client = openai.OpenAI(base_url=fake.url, api_key="sk-fake", max_retries=0)
        assert [m.id for m in client.models.list()] == [MODEL]
        answer = client.chat.completions.create(model=MODEL, messages=messages)
        text = answer.choices[0].message.content
        assert text == "I will write 1 file(s).\n\nhello.txt\n```\nhi\n```\n\nAll done.\n"
        assert answer.choices[0].finish_reason == "stop" and answer.usage.total_tokens > 0
        # The same conversation carried on after the answer: a continuation, no new turn.
        follow = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": "again"}]
        again = client.chat.completions.create(model=MODEL, messages=follow)
        assert again.choices[0].message.content == "All done."
        messages[-1]["content"] = "Create a.txt, again"
        stream = client.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == "I will write 1 file(s).\n\na.txt\n```\na\n```\n\nDone: the files are written.\n"
        assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-1].usage is not None
        assert fake.script.used == [0, 1]
    with FakeOpenAIChat([], fail=401) as failing:
        client = openai.OpenAI(base_url=failing.url, api_key="sk-fake", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model=MODEL, messages=messages)
