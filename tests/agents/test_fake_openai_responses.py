"""Tests of the OpenAI Responses fake (`fakes.openai_responses`): the real Codex CLI edits a git
repository through it, does nothing when no Turn matches, and fails fast on a server error; the
official `openai` SDK parses its answers, streamed and not."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from .fakes.base import Turn
from .fakes.openai_responses import NOTHING_TO_DO, FakeOpenAIResponses, build_patch, plan_call

pytestmark = pytest.mark.slow  # each runs the real agent CLI

CODEX = Path("/opt/conductor-agents/bin/codex")
needs_codex = pytest.mark.skipif(
    not CODEX.exists(), reason=f"the pinned Codex CLI is not installed at {CODEX}"
)
GIT = ["git", "-c", "user.email=test@example.invalid", "-c", "user.name=test"]
# What `*** Add File` patches must look like under the grammar Codex declares for apply_patch.
ADD_ONLY_PATCH = re.compile(
    r"\*\*\* Begin Patch\n(\*\*\* Add File: [^\n]+\n(\+[^\n]*\n)+)*\*\*\* End Patch\n?"
)


def codex_command(url: str, model: str = "gpt-5.5") -> str:
    """The non-interactive Codex command the agent profile runs (prompt on stdin)."""
    provider = (
        f'{{name="conductor",base_url="{url}",env_key="CONDUCTOR_MODEL_API_KEY",wire_api="responses",'
        "request_max_retries=0,stream_max_retries=0}"
    )
    return " ".join(
        [
            shlex.quote(str(CODEX)),
            "exec --color never --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check",
            "--ephemeral --ignore-user-config --ignore-rules",
            "--disable plugins --disable shell_snapshot --disable unbounded_connection_retries",
            "-c analytics.enabled=false -c check_for_update_on_startup=false",
            "-c model_provider=conductor",
            "-c " + shlex.quote(f"model_providers.conductor={provider}"),
            "-m " + shlex.quote(model),
            "-",
        ]
    )


def run_codex(fake: FakeOpenAIResponses, repo: Path, home: Path, prompt: str, model: str = "gpt-5.5") -> Any:
    home.mkdir(exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        "CONDUCTOR_MODEL_API_KEY": "sk-fake-not-secret",
    }
    command = codex_command(fake.url, model)
    return subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=repo,
        input=prompt,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def git_repo(root: Path, files: dict[str, str]) -> Path:
    repo = root / "repo"
    repo.mkdir()
    for name, content in files.items():
        (repo / name).write_text(content)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def git_status(repo: Path) -> str:
    args = ["git", "status", "--porcelain", "--untracked-files=all"]
    return subprocess.run(args, cwd=repo, check=True, capture_output=True, text=True).stdout


def posts(fake: FakeOpenAIResponses) -> list[Any]:
    return [seen for seen in fake.seen if seen.method == "POST"]


PROMPT = 'Step 1: write the greeting.\nIt\'s "quoted", costs $5, has `ticks` and a \\ backslash.\n'
GREETING = Turn(
    match=["write the greeting", "costs $5"],
    files={"hello.txt": "Hello, world!\nIt's $5 `x`\n", "pkg/new_module.py": "VALUE = 1\n"},
    say="Wrote the greeting.",
)


@needs_codex
@pytest.mark.parametrize("model", ["gpt-5.5", "some-unknown-model"])
def test_codex_writes_the_turns_files(tmp_path: Path, model: str) -> None:
    """gpt-5.5 declares apply_patch as a custom tool; an unknown model gets only exec_command,
    through which the fake runs apply_patch."""
    repo = git_repo(tmp_path, {"hello.txt": "old\n", "keep.txt": "keep\n"})
    with FakeOpenAIResponses([GREETING]) as fake:
        result = run_codex(fake, repo, tmp_path / "home", PROMPT, model)
    assert result.returncode == 0, result.stderr
    assert (repo / "hello.txt").read_text() == "Hello, world!\nIt's $5 `x`\n"
    assert (repo / "pkg/new_module.py").read_text() == "VALUE = 1\n"
    assert (repo / "keep.txt").read_text() == "keep\n"
    assert sorted(git_status(repo).splitlines()) == [" M hello.txt", "?? pkg/new_module.py"]
    assert "Wrote the greeting." in result.stdout
    first, second = posts(fake)
    assert first.path == second.path == "/v1/responses"
    assert first.body["stream"] is True and first.body["model"] == model
    headers = {name.lower(): value for name, value in first.headers.items()}
    assert headers["authorization"] == "Bearer sk-fake-not-secret"
    assert first.body["input"][-1]["content"][0]["text"] == PROMPT  # stdin arrives as one message
    assert first.turn is GREETING and second.turn is GREETING
    assert second.body["input"][-1]["type"] in ("custom_tool_call_output", "function_call_output")
    assert "Success" in json.dumps(second.body["input"][-1])
    assert fake.script.used == [0]


@needs_codex
def test_codex_without_a_matching_turn_changes_nothing(tmp_path: Path) -> None:
    repo = git_repo(tmp_path, {"hello.txt": "old\n"})
    with FakeOpenAIResponses([GREETING]) as fake:
        result = run_codex(fake, repo, tmp_path / "home", "Do something else entirely.\n")
    assert result.returncode == 0, result.stderr
    assert NOTHING_TO_DO in result.stdout
    assert git_status(repo) == ""
    assert len(posts(fake)) == 1 and fake.script.used == []


@needs_codex
def test_codex_fails_fast_on_a_server_error(tmp_path: Path) -> None:
    repo = git_repo(tmp_path, {"hello.txt": "old\n"})
    with FakeOpenAIResponses([GREETING]) as fake:
        fake.fail_with = (500, "server_error")
        started = time.monotonic()
        result = run_codex(fake, repo, tmp_path / "home", PROMPT)
    assert result.returncode == 1
    assert time.monotonic() - started < 20
    assert len(posts(fake)) == 1  # the retries are off
    assert git_status(repo) == "" and fake.script.used == []


# ---- the fake's choices, without the CLI ---------------------------------------------------

FREEFORM = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files. This is a FREEFORM tool.",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'add_hunk: "*** Add File: " filename LF'},
}
FUNCTION = {
    "type": "function",
    "name": "apply_patch",
    "description": "Edit files.",
    "parameters": {
        "type": "object",
        "properties": {"input": {"type": "string"}},
        "required": ["input"],
        "additionalProperties": False,
    },
}
EXEC = {
    "type": "function",
    "name": "exec_command",
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"}},
        "required": ["cmd"],
        "additionalProperties": False,
    },
}


def test_build_patch_fits_the_add_only_grammar() -> None:
    patch = build_patch({"a.txt": "one\ntwo\n", "b/c.txt": "no newline", "empty.txt": ""})
    assert ADD_ONLY_PATCH.fullmatch(patch)
    assert "*** Add File: a.txt\n+one\n+two\n" in patch
    assert "*** Add File: b/c.txt\n+no newline\n" in patch
    assert "*** Add File: empty.txt\n+\n" in patch


def test_plan_call_prefers_apply_patch_and_needs_a_declared_tool() -> None:
    patch = build_patch({"a.txt": "x\n"})
    assert plan_call([EXEC, FUNCTION, FREEFORM], patch) == ("custom_tool_call", "apply_patch", patch)
    assert plan_call([EXEC, FUNCTION], patch) == (
        "function_call",
        "apply_patch",
        json.dumps({"input": patch}),
    )
    kind, name, arguments = plan_call([EXEC], patch) or ("", "", "")
    assert (kind, name) == ("function_call", "exec_command")
    assert json.loads(arguments)["cmd"] == f"apply_patch <<'PATCH'\n{patch}PATCH\n"
    assert plan_call([{"type": "web_search"}, {"type": "function", "name": "view_image"}], patch) is None
    assert plan_call(None, patch) is None


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as failed:
        return json.load(failed)


def test_requests_that_are_not_the_conversation_consume_no_turn() -> None:
    with FakeOpenAIResponses([GREETING]) as fake:
        body = {"model": "gpt-5.5", "input": PROMPT, "tools": [FREEFORM]}
        other = {"x-codex-turn-metadata": json.dumps({"request_kind": "compaction"})}
        answer = post(f"{fake.url}/responses", body, other)
        assert answer["output"][0]["content"][0]["text"] == NOTHING_TO_DO
        no_tools = post(f"{fake.url}/responses", {**body, "tools": [EXEC | {"name": "x"}]})
        assert no_tools["output"][0]["type"] == "message"
        assert fake.script.used == []
        assert post(f"{fake.url}/nowhere", {})["error"]["code"] == "unknown_url"


# ---- the official SDK parses the answers ---------------------------------------------------


@pytest.fixture
def openai() -> Any:
    """The official SDK (the tests below skip without it)."""
    return pytest.importorskip("openai")


def sdk(openai: Any, fake: FakeOpenAIResponses) -> Any:
    return openai.OpenAI(base_url=fake.url, api_key="sk-fake-not-secret", max_retries=0)


@pytest.mark.parametrize("tools", [[FREEFORM], [FUNCTION], [EXEC]], ids=["custom", "function", "exec"])
def test_openai_sdk_parses_a_streamed_tool_call_and_its_continuation(
    openai: Any, tools: Sequence[dict[str, Any]]
) -> None:
    with FakeOpenAIResponses([GREETING]) as fake:
        client = sdk(openai, fake)
        events = list(client.responses.create(model="gpt-5.5", input=PROMPT, tools=tools, stream=True))
        assert [e.type for e in events][:2] == ["response.created", "response.in_progress"]
        assert events[-1].type == "response.completed"
        assert [e.sequence_number for e in events] == list(range(len(events)))
        final = events[-1].response
        assert final.status == "completed" and final.usage.total_tokens > 0
        (call,) = final.output
        assert call.type in ("custom_tool_call", "function_call")
        patch = build_patch(GREETING.files)
        if call.type == "custom_tool_call":
            assert call.input == patch
            done = next(e for e in events if e.type == "response.custom_tool_call_input.done")
            assert done.input == patch
        elif call.name == "apply_patch":
            assert json.loads(call.arguments) == {"input": patch}
        else:
            assert patch in json.loads(call.arguments)["cmd"]
        output_type = "custom_tool_call_output" if call.type == "custom_tool_call" else "function_call_output"
        history = [
            {"role": "user", "content": PROMPT},
            call.model_dump(exclude_none=True),
            {"type": output_type, "call_id": call.call_id, "output": "Success."},
        ]
        with client.responses.stream(model="gpt-5.5", input=history, tools=tools) as stream:
            for _ in stream:
                pass
            closing = stream.get_final_response()
        assert closing.output_text == GREETING.say
        assert fake.script.used == [0]


def test_openai_sdk_accumulates_a_streamed_tool_call(openai: Any) -> None:
    with (
        FakeOpenAIResponses([GREETING]) as fake,
        sdk(openai, fake).responses.stream(model="gpt-5.5", input=PROMPT, tools=[FUNCTION]) as stream,
    ):
        for _ in stream:
            pass
        (call,) = stream.get_final_response().output
    assert call.type == "function_call" and json.loads(call.arguments)["input"] == build_patch(GREETING.files)


def test_openai_sdk_parses_plain_answers_models_and_errors(openai: Any) -> None:
    with FakeOpenAIResponses([GREETING], models=["gpt-5.5", "gpt-6-sol"]) as fake:
        client = sdk(openai, fake)
        answer = client.responses.create(model="gpt-5.5", input="Unrelated.", tools=[FREEFORM])
        assert answer.output_text == NOTHING_TO_DO and answer.usage.input_tokens > 0
        assert [m.id for m in client.models.list()] == ["gpt-5.5", "gpt-6-sol"]
        assert client.models.retrieve("gpt-6-sol").owned_by == "openai"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("no-such-model")
        fake.fail_with = (401, "invalid_api_key")
        with pytest.raises(openai.AuthenticationError) as caught:
            client.responses.create(model="gpt-5.5", input=PROMPT, stream=True)
        assert caught.value.code == "invalid_api_key"
        assert fake.script.used == []
