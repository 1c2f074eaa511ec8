"""The real google-genai and openai SDKs against local fake servers, through our caller."""

from __future__ import annotations

import json

import pytest

from conductor.llm.answers import EditAnswer, answer_schema
from conductor.llm.caller import Caller, Exchange
from conductor.llm.fake import FakeModelServer
from conductor.llm.gemini import GeminiProvider
from conductor.llm.openai_compat import OpenAIProvider
from conductor.llm.provider import BlockedError, LLMError, LLMRequest
from tests.conftest import free_port

KEY = "fake-gemini-key-0123456789"
GOOD = {
    "summary": "did it",
    "explanation": "because",
    "edits": [{"path": "a.py", "action": "write", "content": "x"}],
}


def request() -> LLMRequest:
    return LLMRequest(
        purpose="edit",
        system="be careful",
        prompt="Task step_001: write a.py",
        schema_name="EditAnswer",
        schema=answer_schema(EditAnswer),
        scope="main/step_001/1",
    )


def gemini(fake: FakeModelServer, *, timeout: float = 5.0, api_version: str | None = None) -> GeminiProvider:
    return GeminiProvider(
        model="gemini-test", base_url=fake.url, timeout_seconds=timeout, key=KEY, api_version=api_version
    )


def caller(provider, recorded: list[Exchange], retries: int = 3) -> Caller:
    return Caller(provider, retries=retries, backoff_seconds=0.01, recorder=recorded.append)


def test_gemini_success_structured_answer_usage_and_no_key_in_the_record() -> None:
    recorded: list[Exchange] = []
    with FakeModelServer([{"json": GOOD, "input_tokens": 321, "output_tokens": 54}]) as fake:
        answer = caller(gemini(fake), recorded).ask(request(), EditAnswer)
    assert isinstance(answer.value, EditAnswer) and answer.value.edits[0].path == "a.py"
    assert (answer.usage.input, answer.usage.output) == (321, 54)
    (seen,) = fake.seen
    assert seen.path == "/v1/models/gemini-test:generateContent"
    assert seen.headers.get("x-goog-api-key") == KEY  # the key goes to the API...
    assert seen.body["generationConfig"]["responseMimeType"] == "application/json"
    assert seen.body["systemInstruction"]["parts"][0]["text"] == "be careful"
    (exchange,) = recorded
    assert exchange.valid is True and exchange.response is not None
    assert KEY not in json.dumps(exchange.to_json())  # ...and never into the record


def test_gemini_v1beta_api_version() -> None:
    with FakeModelServer([{"json": GOOD}]) as fake:
        caller(gemini(fake, api_version="v1beta"), []).ask(request(), EditAnswer)
    assert fake.seen[0].path == "/v1beta/models/gemini-test:generateContent"


def test_429_then_success_is_retried() -> None:
    recorded: list[Exchange] = []
    with FakeModelServer([{"status": 429}, {"json": GOOD}]) as fake:
        answer = caller(gemini(fake), recorded).ask(request(), EditAnswer)
    assert answer.value.summary == "did it"
    assert [e.error is not None for e in recorded] == [True, False]
    assert "HTTP 429" in (recorded[0].error or "")
    assert len(fake.seen) == 2


def test_500_every_time_fails_after_the_retries() -> None:
    recorded: list[Exchange] = []
    with FakeModelServer([{"status": 500}] * 5) as fake, pytest.raises(LLMError) as info:
        caller(gemini(fake), recorded, retries=2).ask(request(), EditAnswer)
    assert "the model failed 3 times" in info.value.message and "HTTP 500" in info.value.message
    assert info.value.hint == "try again later, or raise llm.retries in .conductor/config.yaml"
    assert len(fake.seen) == 3 and len(recorded) == 3


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_slow_answer_past_the_timeout_is_a_transient_failure() -> None:
    recorded: list[Exchange] = []
    script = [{"delay": 2.0, "json": GOOD}, {"json": GOOD}]
    with FakeModelServer(script) as fake:
        answer = caller(gemini(fake, timeout=0.5), recorded).ask(request(), EditAnswer)
    assert answer.value.summary == "did it"
    assert recorded[0].error == f"Gemini at {fake.url} did not answer within 0.5 s (timed out)"


def test_a_timeout_every_time_says_which_setting_gives_more_time() -> None:
    with FakeModelServer([{"delay": 1.0, "json": GOOD}] * 2) as fake, pytest.raises(LLMError) as info:
        caller(gemini(fake, timeout=0.3), [], retries=0).ask(request(), EditAnswer)
    assert info.value.message.endswith(f"last: Gemini at {fake.url} did not answer within 0.3 s (timed out)")
    assert (
        info.value.hint and "llm.timeout_seconds" in info.value.hint and "llm.retries" not in info.value.hint
    )


def test_a_refused_connection_is_retried_then_reported_with_a_hint_about_the_server() -> None:
    recorded: list[Exchange] = []
    url = f"http://127.0.0.1:{free_port()}"
    provider = GeminiProvider(model="m", base_url=url, timeout_seconds=2, key=KEY)
    with pytest.raises(LLMError) as info:
        caller(provider, recorded, retries=1).ask(request(), EditAnswer)
    assert len(recorded) == 2
    assert (
        info.value.message
        == f"the model failed 2 times; last: cannot reach Gemini at {url}: connection refused"
    )
    assert info.value.hint and info.value.hint.startswith("is the server running at that URL?")
    assert "GOOGLE_GEMINI_BASE_URL" in info.value.hint


def test_malformed_json_is_asked_again_once_with_the_error() -> None:
    recorded: list[Exchange] = []
    with FakeModelServer([{"text": "{ not json"}, {"json": GOOD}]) as fake:
        answer = caller(gemini(fake), recorded).ask(request(), EditAnswer)
    assert answer.value.summary == "did it"
    assert [e.valid for e in recorded] == [False, True]
    retry_prompt = fake.seen[1].body["contents"][0]["parts"][0]["text"]
    assert "Your previous answer was rejected:\n- not valid JSON" in retry_prompt


def test_the_wrong_schema_twice_is_a_clear_error() -> None:
    wrong = {"summary": "x", "edits": [{"path": "a.py", "action": "rename"}]}
    with FakeModelServer([{"json": wrong}, {"json": wrong}]) as fake, pytest.raises(LLMError) as info:
        caller(gemini(fake), []).ask(request(), EditAnswer)
    assert "EditAnswer answer was wrong twice" in info.value.message
    # every problem is named, in the error and in the re-ask
    assert "edits.0.action" in info.value.message and "explanation: Field required" in info.value.message
    retry_prompt = fake.seen[1].body["contents"][0]["parts"][0]["text"]
    assert "- explanation: Field required" in retry_prompt and "- edits.0.action" in retry_prompt
    assert len(fake.seen) == 2


@pytest.mark.parametrize("reply", [{"block": "SAFETY"}, {"empty": True}, {"finish": "SAFETY", "empty": True}])
def test_a_safety_block_or_an_empty_answer_is_not_retried(reply: dict) -> None:
    with FakeModelServer([reply, {"json": GOOD}]) as fake, pytest.raises(BlockedError) as info:
        caller(gemini(fake), []).ask(request(), EditAnswer)
    assert "blocked" in info.value.message or "empty" in info.value.message or "stopped" in info.value.message
    assert len(fake.seen) == 1


def test_no_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(LLMError) as info:
        GeminiProvider(model="m")
    assert "GEMINI_API_KEY" in info.value.message and info.value.hint and "--llm openai" in info.value.hint


def openai_provider(fake: FakeModelServer) -> OpenAIProvider:
    return OpenAIProvider(model="llama-test", base_url=fake.url, timeout_seconds=5)


def test_openai_compatible_success_retry_schema_and_filter() -> None:
    recorded: list[Exchange] = []
    with FakeModelServer(
        [{"status": 503}, {"json": GOOD, "input_tokens": 7, "output_tokens": 3}], flavor="openai"
    ) as fake:
        answer = caller(openai_provider(fake), recorded).ask(request(), EditAnswer)
    assert answer.value.summary == "did it" and (answer.usage.input, answer.usage.output) == (7, 3)
    assert fake.seen[-1].path == "/v1/chat/completions"
    body = fake.seen[-1].body
    assert body["model"] == "llama-test" and body["response_format"]["type"] == "json_schema"
    assert body["messages"][0] == {"role": "system", "content": "be careful"}
    assert "HTTP 503" in (recorded[0].error or "")
    with (
        FakeModelServer([{"text": "nope"}, {"json": {"wrong": 1}}], flavor="openai") as fake,
        pytest.raises(LLMError, match="answer was wrong twice"),
    ):
        caller(openai_provider(fake), []).ask(request(), EditAnswer)
    with (
        FakeModelServer([{"block": True, "json": GOOD}], flavor="openai") as fake,
        pytest.raises(BlockedError, match="content filter"),
    ):
        caller(openai_provider(fake), []).ask(request(), EditAnswer)


def test_openai_compatible_transport_errors_say_what_failed_and_what_to_check() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    refused = OpenAIProvider(model="m", base_url=url, timeout_seconds=2)
    with pytest.raises(LLMError) as info:
        caller(refused, [], retries=0).ask(request(), EditAnswer)
    assert info.value.message == f"the model failed once; last: cannot reach {url}: connection refused"
    assert info.value.hint == "is the server running at that URL? (check --base-url / llm.base_url)"
    unknown = OpenAIProvider(model="m", base_url="http://no-such-host.invalid/v1", timeout_seconds=5)
    with pytest.raises(LLMError) as info:
        caller(unknown, [], retries=0).ask(request(), EditAnswer)
    assert (
        "cannot reach http://no-such-host.invalid/v1: no such host 'no-such-host.invalid'"
        in info.value.message
    )
    assert info.value.hint and "the host name" in info.value.hint and "llm.retries" not in info.value.hint
    with (
        FakeModelServer([{"delay": 1.0, "json": GOOD}], flavor="openai") as fake,
        pytest.raises(LLMError) as info,
    ):
        slow = OpenAIProvider(model="m", base_url=fake.url, timeout_seconds=0.3)
        caller(slow, [], retries=0).ask(request(), EditAnswer)
    assert info.value.message.endswith(f"last: {fake.url} did not answer within 0.3 s (timed out)")
    assert info.value.hint and "llm.timeout_seconds" in info.value.hint
