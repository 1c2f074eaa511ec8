"""The schema-following stand-in model the llm tests run plans against (`schema_model`), with
the key and URL set for the CLI (the scripted one, `model`, is tests/llm/test_llm_runs.py's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from conductor.llm.fake import FakeModelServer
from conductor.llm.fakemodel import SchemaFollowingModel
from tests.conftest import git
from tests.scenario import Project

KEY = "fake-gemini-key-abcdef123456"
Server = TypeVar("Server", bound=FakeModelServer)


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Server], Server]]:
    """`serve(server)` starts a fake model and points Gemini's key and URL at it; every server
    started is stopped on the way out."""
    servers: list[FakeModelServer] = []

    def serve(server: Server) -> Server:
        servers.append(server.start())
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        return server

    try:
        yield serve
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def schema_model(monkeypatch: pytest.MonkeyPatch, proj: Project) -> Iterator[Any]:
    """Start a schema-following fake: schema_model(flavor, **options) -> server. Gemini's key
    and URL are set; retries back off briefly (.conductor/config.yaml)."""
    config = proj.root / ".conductor" / "config.yaml"
    config.write_text("llm:\n  retries: 2\n  retry_backoff_seconds: 0.01\n")
    git(proj.root, "add", str(config))
    git(proj.root, "commit", "-qm", "model settings")
    with serving(monkeypatch) as serve:
        yield lambda flavor="gemini", **options: serve(SchemaFollowingModel(flavor, **options))
