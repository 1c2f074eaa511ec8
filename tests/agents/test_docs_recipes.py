"""The agent command lines the docs show are the profiles' own (the ones tests/agents runs
against the real CLIs), and no page hand-writes a command line for a known agent."""

from __future__ import annotations

import re
import shlex

import pytest

from conductor.executors.agent import AgentExecutor
from conductor.executors.profiles import load
from tests.conftest import ROOT

AGENTS_MD = ROOT / "docs" / "agents.md"
WITH_URL = {"aider"}  # the page shows --base-url's flag where it is one


def shown_command(name: str) -> str:
    """The ```sh block under `### NAME` in docs/agents.md, as one line."""
    text = AGENTS_MD.read_text(encoding="utf-8")
    section = text.split(f"### {name}", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return block.replace("\\\n", " ")


@pytest.mark.parametrize("name", ["aider", "claude", "codex", "gemini"])
def test_the_page_shows_each_profiles_command_line(name: str) -> None:
    profile = load(None)[name]
    url = "http://url.invalid" if name in WITH_URL else None
    command = AgentExecutor(profile, model="MODEL", base_url=url).command
    expected = shlex.split(command.replace("http://url.invalid", "URL"))
    assert shlex.split(shown_command(name)) == expected


def test_no_page_writes_its_own_command_line_for_a_known_agent() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "deploy").iterdir())]
    known = re.compile(r"--exec[= ]+[\"']?(?:aider|claude|codex|gemini)\b")
    for page in pages:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            assert not known.search(line), f"{page.relative_to(ROOT)}:{number}: use --agent: {line}"
