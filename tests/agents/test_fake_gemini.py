"""The Gemini API fake against the real Gemini CLI (and the google-genai SDK).

Each CLI test starts `FakeGeminiAPI`, runs `/opt/conductor-agents/bin/gemini` non-interactively
in a fresh git repository (the instruction on stdin, as Conductor runs it, with a fresh HOME
seeded with the settings Conductor's profile writes) and checks what the model's answers did.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.agents.fakes.base import Turn
from tests.agents.fakes.gemini import FakeGeminiAPI, sample

pytestmark = pytest.mark.slow  # each runs the real agent CLI

GEMINI = Path("/opt/conductor-agents/bin/gemini")
MODEL = "gemini-2.5-pro"  # a concrete model: "auto" adds a routing request to a flash model
COMMAND = f"{GEMINI} --approval-mode yolo -m {MODEL}"

# ~/.gemini/settings.json: API-key auth (GOOGLE_GEMINI_BASE_URL alone selects the "gateway" auth,
# which headless mode rejects), no folder-trust gate, no usage statistics, no updates, one attempt.
SETTINGS: dict[str, Any] = {
    "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": False}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {
        "enableAutoUpdate": False,
        "enableAutoUpdateNotification": False,
        "checkpointing": {"enabled": False},
        "maxAttempts": 1,
    },
    "ide": {"enabled": False},
}

# Quotes, $, backticks and several lines: it must reach the model as one message, unexpanded.
INSTRUCTION = 'Create the greeting file.\nIt says "hello" to $USER and `whoami`;\nthen stop.\n'

needs_cli = pytest.mark.skipif(not GEMINI.exists(), reason=f"the Gemini CLI is not installed at {GEMINI}")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "README.md").write_text("# demo\n", encoding="utf-8")
    for args in (
        ["init", "-q", "."],
        ["add", "."],
        ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True)
    return work


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    (home / "tmp").mkdir()
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS), encoding="utf-8")
    return home


def run_gemini(
    fake: FakeGeminiAPI, workdir: Path, home: Path, instruction: str, command: str = COMMAND
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "GEMINI_API_KEY": "test-key",
        "GOOGLE_GEMINI_BASE_URL": fake.url,
        "NO_COLOR": "1",
    }
    return subprocess.run(
        ["/bin/sh", "-c", command],
        input=instruction,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def git_status(workdir: Path) -> list[str]:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(line[3:] for line in out.splitlines())


def post(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def model_calls(fake: FakeGeminiAPI) -> list[Any]:
    return [seen for seen in fake.seen if ":streamGenerateContent" in seen.path]


def declared(body: dict[str, Any]) -> list[str]:
    return [f["name"] for tool in body.get("tools", []) for f in tool.get("functionDeclarations", [])]


@needs_cli
def test_the_cli_writes_the_turns_files_and_stops(workdir: Path, home: Path) -> None:
    files = {"greeting.txt": "hello\n", "pkg/mod.py": 'print("$HOME `x`")\n'}
    turn = Turn(match=["greeting file", "`whoami`"], files=files, say="Wrote the greeting.")
    with FakeGeminiAPI([turn]) as fake:
        result = run_gemini(fake, workdir, home, INSTRUCTION)
    assert result.returncode == 0, result.stderr
    assert "Wrote the greeting." in result.stdout
    for relpath, content in files.items():
        assert (workdir / relpath).read_text(encoding="utf-8") == content
    assert git_status(workdir) == sorted(files)  # no scratch files in the worktree
    first, second = model_calls(fake)
    assert first.turn is turn and second.turn is None  # the continuation consumed nothing
    prompt = [p["text"] for p in first.body["contents"][-1]["parts"] if "text" in p]
    assert INSTRUCTION in prompt  # stdin arrives as one message
    assert first.headers.get("x-goog-api-key") == "test-key"
    responses = [p["functionResponse"] for p in second.body["contents"][-1]["parts"]]
    assert [r["name"] for r in responses] == ["write_file", "write_file"]
    assert all("error" not in r["response"] for r in responses)
    assert (home / ".gemini" / "tmp").is_dir()  # the CLI keeps its chats under HOME


@needs_cli
def test_a_request_without_a_matching_turn_changes_nothing(workdir: Path, home: Path) -> None:
    turn = Turn(match=["something else entirely"], files={"other.txt": "x\n"})
    with FakeGeminiAPI([turn]) as fake:
        result = run_gemini(fake, workdir, home, INSTRUCTION)
    assert result.returncode == 0, result.stderr
    assert git_status(workdir) == []
    assert len(model_calls(fake)) == 1 and fake.script.used == []


@needs_cli
def test_without_edit_approval_no_write_tool_is_declared_and_nothing_changes(
    workdir: Path, home: Path
) -> None:
    turn = Turn(match=["greeting file"], files={"greeting.txt": "hello\n"})
    with FakeGeminiAPI([turn]) as fake:
        result = run_gemini(fake, workdir, home, INSTRUCTION, command=f"{GEMINI} -m {MODEL}")
    assert result.returncode == 0, result.stderr  # a quiet failure: the model just answers
    assert git_status(workdir) == []
    (call,) = model_calls(fake)
    assert "write_file" not in declared(call.body)


@needs_cli
def test_a_server_error_fails_the_run(workdir: Path, home: Path) -> None:
    turn = Turn(match=["greeting file"], files={"greeting.txt": "hello\n"})
    with FakeGeminiAPI([turn], fail=(500, "simulated outage")) as fake:
        result = run_gemini(fake, workdir, home, INSTRUCTION)
    assert result.returncode == 1
    assert "simulated outage" in result.stderr
    assert git_status(workdir) == []
    assert len(model_calls(fake)) == 1  # general.maxAttempts = 1: no retries with backoff


def test_side_requests_get_json_that_fits_their_schema_and_consume_nothing() -> None:
    router_schema = {
        "type": "OBJECT",
        "properties": {"reasoning": {"type": "STRING"}, "score": {"type": "INTEGER", "minimum": 1}},
        "required": ["reasoning", "score"],
    }
    assert sample(router_schema) == {"reasoning": "", "score": 1}
    turn = Turn(match=["greeting"], files={"greeting.txt": "hello\n"})
    with FakeGeminiAPI([turn]) as fake:
        body = {
            "contents": [{"role": "user", "parts": [{"text": "greeting"}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": router_schema},
        }
        status, answer = post(f"{fake.url}/v1beta/models/gemini-2.5-flash:generateContent", body)
        assert status == 200
        assert json.loads(answer["candidates"][0]["content"]["parts"][0]["text"]) == {
            "reasoning": "",
            "score": 1,
        }
        status, missing = post(f"{fake.url}/v1beta/models/m:bogus", body)
        assert status == 404 and missing["error"]["status"] == "NOT_FOUND"
    assert fake.script.used == []


def test_the_google_genai_sdk_parses_the_fakes_answers() -> None:
    genai = pytest.importorskip("google.genai")
    from google.genai import errors, types

    write_file = types.FunctionDeclaration(
        name="write_file",
        description="Writes a file.",
        parameters_json_schema={
            "type": "object",
            "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["file_path", "content"],
        },
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[write_file])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    turn = Turn(match=["make a.txt"], files={"a.txt": "A\n"}, say="Made a.txt.")
    with FakeGeminiAPI([turn]) as fake:
        client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=fake.url))
        prompt = types.Content(
            role="user", parts=[types.Part(text="I'm working in the directory: /w\nmake a.txt")]
        )
        chunks = list(client.models.generate_content_stream(model=MODEL, contents=[prompt], config=config))
        last = chunks[-1]
        assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
        assert last.usage_metadata and last.usage_metadata.total_token_count
        calls = last.function_calls or []
        assert [(c.name, c.args) for c in calls] == [
            ("write_file", {"file_path": "/w/a.txt", "content": "A\n"})
        ]
        model_turn = last.candidates[0].content
        assert model_turn is not None
        result = types.Part.from_function_response(name="write_file", response={"output": "ok"})
        history = [prompt, model_turn, types.Content(role="user", parts=[result])]
        streamed = "".join(
            c.text or ""
            for c in client.models.generate_content_stream(model=MODEL, contents=history, config=config)
        )
        assert streamed == "Made a.txt."
        assert (
            client.models.generate_content(model=MODEL, contents=history, config=config).text == "Made a.txt."
        )
        assert (client.models.count_tokens(model=MODEL, contents="hi").total_tokens or 0) > 0
        assert fake.script.used == [0]
        fake.fail = (401, "API key not valid.")
        with pytest.raises(errors.ClientError) as failure:
            client.models.generate_content(model=MODEL, contents="x")
        assert failure.value.code == 401 and failure.value.status == "UNAUTHENTICATED"
