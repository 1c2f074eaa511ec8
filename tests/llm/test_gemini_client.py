"""Gemini providers of one thread use one SDK client (the llm executor makes a provider a
step); each request still goes out with its provider's key and options, and another thread
has a client of its own."""

from __future__ import annotations

import threading

from conductor.llm.answers import EditAnswer
from conductor.llm.caller import Caller
from conductor.llm.fake import FakeModelServer
from conductor.llm.gemini import GeminiProvider
from tests.llm.test_providers import GOOD, KEY, request


def provider(fake: FakeModelServer, *, key: str = KEY, api_version: str | None = None) -> GeminiProvider:
    return GeminiProvider(model="gemini-test", base_url=fake.url, key=key, api_version=api_version)


def ask(made: GeminiProvider) -> str:
    return Caller(made, retries=0, backoff_seconds=0).ask(request(), EditAnswer).value.summary


def test_providers_of_a_thread_share_a_client_and_keep_their_key_and_options() -> None:
    with FakeModelServer([{"json": GOOD}] * 4) as fake:
        first, second = provider(fake), provider(fake)
        assert [ask(first), ask(second)] == ["did it", "did it"]
        assert first.client is second.client
        other_key, beta = provider(fake, key="another-key-0123456789"), provider(fake, api_version="v1beta")
        assert [ask(other_key), ask(beta)] == ["did it", "did it"]
        assert len({id(p.client) for p in (first, other_key, beta)}) == 3
        elsewhere: list[object] = []
        thread = threading.Thread(target=lambda: elsewhere.append(provider(fake).client))
        thread.start()
        thread.join()
        assert elsewhere and elsewhere[0] is not first.client
    assert [seen.headers.get("x-goog-api-key") for seen in fake.seen] == [
        KEY,
        KEY,
        "another-key-0123456789",
        KEY,
    ]
    assert [seen.path.split("/")[1] for seen in fake.seen] == ["v1", "v1", "v1", "v1beta"]
