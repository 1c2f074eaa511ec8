"""`conductor mcp` ends as soon as it has served: what the process holds is frozen (gc.freeze)
before it exits, so the interpreter's last collection does not walk the SDK's objects — half a
second the client waits for the process to end once it has closed the session."""

from __future__ import annotations

import gc
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from conductor.mcpserver import server
from conductor.mcpserver.greeting import Opening
from tests.mcpserver.test_greeting import initialize


@pytest.fixture
def unfrozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's objects as the test found them: nothing frozen, before and after."""
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # serve_stdio points it at stderr
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_stdio_session_the_client_closed_leaves_its_objects_frozen(tmp_path: Path) -> None:
    answers = tmp_path / "answers"
    with answers.open("wb") as wire:
        server.serve_stdio(Opening(initialize("2025-11-25"), None, io.BytesIO(), wire))
    assert gc.get_freeze_count() > 0
    assert b'"id":1' in answers.read_bytes()  # it served the session before


@pytest.mark.usefixtures("unfrozen")
def test_an_http_server_that_stopped_leaves_its_objects_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **settings: ran.append(settings))  # stopped at once
    server.serve_http(8765)
    assert ran == [{"host": "127.0.0.1", "port": 8765, "log_level": "warning"}]
    assert gc.get_freeze_count() > 0
