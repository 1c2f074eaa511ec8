"""The Anthropic Messages API fake against the real Claude Code CLI (and the wire format alone).

Each CLI test starts `FakeAnthropic`, runs `/opt/conductor-agents/bin/claude -p` the way Conductor
runs it (`/bin/sh -c CMD` in a fresh git repository, the instruction on stdin, a fresh empty HOME,
only the environment the profile sets) and checks what the model's answers did to the files and
what Claude Code reported in its `--output-format json` result. The wire tests speak to the fake
with urllib; the Anthropic SDK check runs only where the `anthropic` package is importable.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.agents.fakes.anthropic import NOTHING_TO_DO, FakeAnthropic
from tests.agents.fakes.base import Turn

pytestmark = pytest.mark.slow  # each runs the real agent CLI

CLAUDE = Path("/opt/conductor-agents/bin/claude")
MODEL = "claude-sonnet-4-5"  # a model Claude Code knows (an unknown id only adds a warning)
COMMAND = f"{CLAUDE} -p --output-format json --permission-mode acceptEdits --model {MODEL}"

# Quotes, $, backticks and several lines: it must reach the model as one message, unexpanded.
INSTRUCTION = 'Create the greeting file.\nIt says "hello" to $USER and `whoami`;\nthen stop.\n'

needs_cli = pytest.mark.skipif(not CLAUDE.exists(), reason=f"Claude Code is not installed at {CLAUDE}")


def claude_env(fake: FakeAnthropic, home: Path, **extra: str) -> dict[str, str]:
    """The whole environment of a run: the fake, a key, no traffic besides the model's."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "ANTHROPIC_BASE_URL": fake.url,
        "ANTHROPIC_API_KEY": "sk-ant-fake",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # telemetry, error reports, updates...
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_LEGACY_MODEL_REMAP": "1",  # pass older model ids through as given
        "CLAUDE_CODE_MAX_RETRIES": "0",  # fail fast (the default retries for about 3 minutes)
        **extra,
    }


def run_claude(
    fake: FakeAnthropic, work: Path, home: Path, command: str = COMMAND, **extra: str
) -> tuple[int, dict[str, Any], str]:
    """Run the CLI on INSTRUCTION; its exit code, its JSON result and its stderr."""
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=work,
        input=INSTRUCTION,
        capture_output=True,
        text=True,
        env=claude_env(fake, home, **extra),
        timeout=60,
    )
    try:
        result = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"no JSON result (exit {done.returncode}): {done.stdout!r} {done.stderr!r}")
    return done.returncode, result, done.stderr


def git(work: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=work, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A git worktree made from a repository elsewhere (as Conductor makes them)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# demo\n", encoding="utf-8")
    git(repo, "init", "-q", ".")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    work = tmp_path / "worktrees" / "step"
    git(repo, "worktree", "add", "-q", "-b", "step", str(work))
    return work


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def messages_requests(fake: FakeAnthropic) -> list[Any]:
    return [seen for seen in fake.seen if seen.path.split("?")[0] == "/v1/messages"]


@needs_cli
def test_claude_code_writes_the_turns_files_and_ends_its_turn(workdir: Path, home: Path) -> None:
    turn = Turn(
        match=["greeting file", '"hello" to $USER and `whoami`'],
        files={"greeting.txt": "hello\n", "README.md": "# demo\n\nA greeting.\n"},
        say="The greeting is written.",
    )
    with FakeAnthropic([turn]) as fake:
        code, result, stderr = run_claude(fake, workdir, home)

    assert code == 0, stderr
    assert (workdir / "greeting.txt").read_text(encoding="utf-8") == "hello\n"
    assert (workdir / "README.md").read_text(encoding="utf-8") == "# demo\n\nA greeting.\n"
    assert result["is_error"] is False
    assert result["result"] == "The greeting is written."
    assert result["permission_denials"] == []
    # read both files, write both, then the closing words: three requests, one turn taken
    assert fake.script.used == [0]
    assert len(messages_requests(fake)) == 3
    first = messages_requests(fake)[0]
    assert first.headers.get("x-api-key") == "sk-ant-fake"
    assert first.body["model"] == MODEL and first.body["stream"] is True
    texts = [block.get("text") for block in first.body["messages"][0]["content"]]
    assert INSTRUCTION in texts  # one message, unexpanded
    assert sorted(git(workdir, "status", "--porcelain").splitlines()) == [" M README.md", "?? greeting.txt"]
    assert git(workdir, "log", "--format=%s") == "init\n"  # Claude Code made no commit


@needs_cli
def test_an_instruction_no_turn_matches_changes_nothing(workdir: Path, home: Path) -> None:
    turn = Turn(match=["something else entirely"], files={"other.txt": "x\n"})
    with FakeAnthropic([turn]) as fake:
        code, result, stderr = run_claude(fake, workdir, home)

    assert code == 0, stderr
    assert result["result"] == NOTHING_TO_DO
    assert fake.script.used == []
    assert git(workdir, "status", "--porcelain") == ""


@needs_cli
def test_denied_edits_exit_zero_and_show_in_permission_denials(workdir: Path, home: Path) -> None:
    """Without acceptEdits nobody can approve a write in -p mode: the quiet failure to detect."""
    turn = Turn(match=["greeting file"], files={"greeting.txt": "hello\n"})
    command = COMMAND.replace(" --permission-mode acceptEdits", "")
    with FakeAnthropic([turn]) as fake:
        code, result, _ = run_claude(fake, workdir, home, command)

    assert code == 0 and result["is_error"] is False
    assert [denial["tool_name"] for denial in result["permission_denials"]] == ["Write"]
    assert not (workdir / "greeting.txt").exists()


@needs_cli
def test_with_only_read_and_edit_declared_the_edit_tool_writes(workdir: Path, home: Path) -> None:
    turn = Turn(match=["greeting file"], files={"greeting.txt": "hello\n", "README.md": "# new\n"})
    with FakeAnthropic([turn]) as fake:
        code, result, stderr = run_claude(fake, workdir, home, COMMAND + ' --tools "Read,Edit"')

    assert code == 0 and result["permission_denials"] == [], stderr
    assert (workdir / "greeting.txt").read_text(encoding="utf-8") == "hello\n"
    assert (workdir / "README.md").read_text(encoding="utf-8") == "# new\n"
    answer = messages_requests(fake)[-1].body["messages"][-2]["content"]
    edits = [block["name"] for block in answer if block["type"] == "tool_use"]
    assert "Edit" in edits and "Write" not in edits


@needs_cli
def test_a_worktree_under_a_git_directory_refuses_edits_even_with_accept_edits(
    workdir: Path, home: Path
) -> None:
    """Claude Code treats every path under .git/ as sensitive: worktrees must live elsewhere."""
    inside = workdir.parent.parent / "repo" / ".git" / "conductor" / "step"
    git(workdir.parent.parent / "repo", "worktree", "add", "-q", "-b", "inside", str(inside))
    with FakeAnthropic([Turn(match=["greeting file"], files={"greeting.txt": "hello\n"})]) as fake:
        code, result, _ = run_claude(fake, inside, home)

    assert code == 0 and [denial["tool_name"] for denial in result["permission_denials"]] == ["Write"]
    assert "sensitive file" in result["result"]
    assert not (inside / "greeting.txt").exists()


@needs_cli
def test_a_model_error_exits_one_with_the_status_in_the_result(workdir: Path, home: Path) -> None:
    with FakeAnthropic([], fail_status=500) as fake:
        code, result, _ = run_claude(fake, workdir, home)

    assert code == 1
    assert result["is_error"] is True and result["api_error_status"] == 500


# -- the wire format, without the CLI ------------------------------------------------------------


def call(fake: FakeAnthropic, path: str, body: Any = None, method: str = "POST") -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        fake.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as failure:
        return failure.code, failure.read().decode()


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


WRITE = {
    "name": "Write",
    "description": "Writes a file (absolute path).",
    "input_schema": {
        "type": "object",
        "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["file_path", "content"],
        "additionalProperties": False,
    },
}


def request(*messages: dict[str, Any], stream: bool = True) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 1000,
        "stream": stream,
        "system": [{"type": "text", "text": "Primary working directory: /w/repo\n"}],
        "tools": [WRITE],
        "messages": list(messages),
    }


def test_the_stream_follows_the_messages_event_sequence() -> None:
    prompt = {
        "role": "user",
        "content": [
            {"type": "text", "text": "<system-reminder>x</system-reminder>"},
            {"type": "text", "text": "make a.txt"},
        ],
    }
    with FakeAnthropic([Turn(match=["make a.txt"], files={"a.txt": "A\n"}, say="Made.")]) as fake:
        status, text = call(fake, "/v1/messages?beta=true", request(prompt))
        events = sse(text)
        assert status == 200
        names = [name for name, _ in events]
        assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]
        assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
        use = next(
            data["content_block"]
            for _, data in events
            if data.get("content_block", {}).get("type") == "tool_use"
        )
        arguments = json.loads(
            "".join(
                data["delta"]["partial_json"]
                for _, data in events
                if data["type"] == "content_block_delta" and data["delta"]["type"] == "input_json_delta"
            )
        )
        assert use["name"] == "Write" and arguments == {"file_path": "/w/repo/a.txt", "content": "A\n"}

        # the continuation (tool results; a mid-conversation system turn too) says `say`, takes nothing
        answer = {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": use["id"], "name": "Write", "input": arguments}],
        }
        results = {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "ok"}],
        }
        system = {"role": "system", "content": [{"type": "text", "text": "note"}]}
        status, text = call(fake, "/v1/messages", request(prompt, answer, results, system, stream=False))
        message = json.loads(text)
        assert status == 200 and message["type"] == "message" and message["stop_reason"] == "end_turn"
        assert message["content"] == [{"type": "text", "text": "Made."}]
        assert fake.script.used == [0]


def test_side_requests_and_other_endpoints_take_no_turn() -> None:
    with FakeAnthropic([Turn(match=["title"], files={"a.txt": "A\n"})]) as fake:
        side = request({"role": "user", "content": "Write a title for this conversation"}, stream=False)
        del side["tools"]
        status, text = call(fake, "/v1/messages", side)
        assert status == 200 and json.loads(text)["content"][0]["type"] == "text"
        status, text = call(fake, "/v1/messages/count_tokens", side)
        assert status == 200 and json.loads(text)["input_tokens"] > 0
        status, text = call(fake, "/v1/models", method="GET")
        assert status == 200 and json.loads(text)["data"][0]["type"] == "model"
        status, text = call(fake, "/v1/nothing", {})
        assert status == 404 and json.loads(text)["error"]["type"] == "not_found_error"
        assert fake.script.used == []


def test_the_anthropic_sdk_parses_the_answers() -> None:
    anthropic = pytest.importorskip("anthropic")
    prompt = {"role": "user", "content": "make a.txt"}
    with FakeAnthropic([Turn(match=["make a.txt"], files={"a.txt": "A\n"})]) as fake:
        client = anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-fake", max_retries=0)
        body = request(prompt, stream=False)
        message = client.messages.create(
            model=MODEL, max_tokens=100, system=body["system"], tools=body["tools"], messages=[prompt]
        )
        assert message.stop_reason == "tool_use"
        assert message.content[-1].input == {"file_path": "/w/repo/a.txt", "content": "A\n"}
