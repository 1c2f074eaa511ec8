"""Each agent profile end to end, as the README runs it: `conductor build --plan P --agent NAME
--model M --base-url URL`, the real CLI (installed by .ci/install-agents), a local stand-in for
its provider's API (tests/agents/fakes), the sandbox on.

A two-step plan with real verify commands: the first step is accepted as the model wrote it, the
second is got wrong (its test fails), rejected and repaired. Nothing of the agent's scratch is
committed, the user's checkout is untouched, and `conductor verify` passes. An agent whose model
fails — which some CLIs report with exit code 0 — fails its step; nothing empty is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from conductor.models.event import EventType
from tests.agents.fakes.anthropic import FakeAnthropic
from tests.agents.fakes.base import AgentModelServer, Turn
from tests.agents.fakes.gemini import FakeGeminiAPI
from tests.agents.fakes.openai_chat import FakeOpenAIChat
from tests.agents.fakes.openai_responses import FakeOpenAIResponses
from tests.conftest import NO_SANDBOX, PYTHON, git
from tests.scenario import Project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}"),
]

GREET = 'def greet(name):\n    return f"Hello, {name}!"\n'
TEST_HEAD = 'import sys\n\nsys.path.insert(0, "src")\n\nfrom greet import greet\n\n\ndef test_greet():\n'
WRONG_TEST = TEST_HEAD + '    assert greet("Ada") == "Hi, Ada"\n'
RIGHT_TEST = TEST_HEAD + '    assert greet("Ada") == "Hello, Ada!"\n'
STEPS = [
    {
        "title": "Create the greeting",
        "instruction": "Create src/greet.py with a function greet(name) that returns 'Hello, NAME!'.",
        "allowed_files": ["src/greet.py"],
        "verify": [
            f"{PYTHON} -c \"import sys; sys.path.insert(0, 'src'); from greet import greet; "
            "assert greet('Ada') == 'Hello, Ada!'\""
        ],
    },
    {
        "title": "Test the greeting",
        "instruction": "Add tests/test_greet.py, a pytest test of greet.",
        "allowed_files": ["tests/test_greet.py"],
        # no plugin: loading this environment's (hypothesis, xdist, anyio) would cost a second a run
        "verify": [
            f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {PYTHON} -m pytest -q -p no:cacheprovider tests/test_greet.py"
        ],
    },
]
TURNS = [
    Turn(match=["Task step_001 (attempt 1)"], files={"src/greet.py": GREET}),
    Turn(match=["Task step_002 (attempt 1)"], files={"tests/test_greet.py": WRONG_TEST}),  # wrong
    Turn(match=["Task step_002 (attempt 2)"], files={"tests/test_greet.py": RIGHT_TEST}),
]


@dataclass(frozen=True)
class Agent:
    name: str
    model: str
    key: str  # the API key variable it needs
    fake: Callable[[list[Turn]], AgentModelServer]
    failing: Callable[[], AgentModelServer]  # a model API that refuses every call


def _responses_failing() -> AgentModelServer:
    fake = FakeOpenAIResponses([])
    fake.fail_with = (401, "invalid_api_key")
    return fake


AGENTS = {
    "aider": Agent(
        "aider", "openai/fake-model", "OPENAI_API_KEY", FakeOpenAIChat, lambda: FakeOpenAIChat([], fail=401)
    ),
    "claude": Agent(
        "claude",
        "claude-sonnet-4-5",
        "ANTHROPIC_API_KEY",
        FakeAnthropic,
        lambda: FakeAnthropic([], fail_status=401),
    ),
    "codex": Agent("codex", "gpt-5.5", "OPENAI_API_KEY", FakeOpenAIResponses, _responses_failing),
    "gemini": Agent(
        "gemini",
        "gemini-2.5-pro",
        "GEMINI_API_KEY",
        FakeGeminiAPI,
        lambda: FakeGeminiAPI([], fail=(401, "API key not valid")),
    ),
}


def build(run_cli, agent: Agent, plan: str, fake: AgentModelServer):
    return run_cli(
        "build",
        "--plan",
        plan,
        "--agent",
        agent.name,
        "--model",
        agent.model,
        "--base-url",
        fake.url,
        "--yes",
    )


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_an_agent_does_a_plan_and_repairs_what_its_model_got_wrong(
    proj: Project, run_cli, with_agent, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    agent = AGENTS[name]
    with_agent(name)
    monkeypatch.setenv(agent.key, "sk-test-key")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_agents")  # a credential the agent must not get
    (proj.root / "scratch.txt").write_text("the user's own work\n")  # untracked, in the checkout
    head, status = git(proj.root, "rev-parse", "HEAD"), git(proj.root, "status", "--porcelain")
    plan = proj.plan(STEPS)
    head, status = git(proj.root, "rev-parse", "HEAD"), git(proj.root, "status", "--porcelain")

    with agent.fake(list(TURNS)) as fake:
        result = build(run_cli, agent, plan, fake)

    assert result.code == 0, result.out + result.err
    branch = proj.branch()
    assert git(proj.root, "show", f"{branch}:src/greet.py") == GREET
    assert git(proj.root, "show", f"{branch}:tests/test_greet.py") == RIGHT_TEST
    events = proj.events()
    rejected = [(e.step, e.attempt) for e in events if e.type is EventType.TASK_REJECTED]
    completed = [(e.step, e.attempt) for e in events if e.type is EventType.TASK_COMPLETED]
    assert rejected == [("step_002", 1)] and completed == [("step_001", 1), ("step_002", 2)]
    verdict = json.loads(proj.record("evidence/step_002/attempt_1/verdict.json"))
    assert verdict["kind"] == "verify_failed", verdict
    # the plan's commits hold the change and nothing of the agent's own (chat history, caches)
    base = proj.ledger().points_at("refs/heads/main")
    changed = git(proj.root, "diff", "--name-only", f"{base}..{branch}").split()
    assert sorted(changed) == ["src/greet.py", "tests/test_greet.py"]
    # the user's checkout is as it was
    assert git(proj.root, "rev-parse", "HEAD") == head
    assert git(proj.root, "status", "--porcelain") == status
    assert (proj.root / "scratch.txt").read_text() == "the user's own work\n"
    assert run_cli("verify").code == 0
    # the agent talked to its model only through the API it was given, with the key it was given
    assert fake.seen and "ghp_not_for_agents" not in json.dumps([s.body for s in fake.seen])
    claimed = [e for e in events if e.type is EventType.TASK_CLAIMED]
    assert claimed[0].data["worker"]["executor"] == "agent"


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_an_agent_whose_model_fails_fails_its_step_even_when_it_exits_0(
    proj: Project, run_cli, with_agent, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    agent = AGENTS[name]
    with_agent(name)
    monkeypatch.setenv(agent.key, "sk-wrong-key")
    plan = proj.plan([STEPS[0]], policy={"behavior": {"max_attempts": 1}})

    with agent.failing() as fake:
        result = build(run_cli, agent, plan, fake)

    assert result.code == 1, result.out
    (failed,) = [e for e in proj.events() if e.type in (EventType.TASK_FAILED, EventType.TASK_REJECTED)]
    assert failed.data["kind"] in ("executor_failed", "no_change"), failed.summary
    assert not [e for e in proj.events() if e.type is EventType.TASK_COMPLETED]
    assert fake.seen  # it did ask the model


def test_claude_codes_refused_edit_fails_the_step(
    proj: Project, run_cli, with_agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claude Code exits 0 when it refuses an edit (outside its working directory): its JSON
    result lists the refusal, and the profile reads it."""
    agent = AGENTS["claude"]
    with_agent("claude")
    monkeypatch.setenv(agent.key, "sk-test-key")
    plan = proj.plan([STEPS[0]], policy={"behavior": {"max_attempts": 1}})
    outside = [Turn(match=["Task step_001"], files={"../escaped.py": "x = 1\n"})]

    with agent.fake(outside) as fake:
        result = build(run_cli, agent, plan, fake)

    assert result.code == 1
    (failed,) = [e for e in proj.events() if e.type in (EventType.TASK_FAILED, EventType.TASK_REJECTED)]
    assert "its output says it failed" in failed.summary, failed.summary
    assert not (proj.worktree().parent / "escaped.py").exists()


@pytest.mark.parametrize(
    ("name", "variable"), [("codex", "OPENAI_BASE_URL"), ("claude", "ANTHROPIC_BASE_URL")]
)
def test_an_agent_finds_its_api_address_in_its_own_variable(
    proj: Project, run_cli, with_agent, monkeypatch: pytest.MonkeyPatch, name: str, variable: str
) -> None:
    """Without --base-url, the address the user keeps in the agent's own variable is used (Codex
    reads none itself: its profile makes it a provider)."""
    agent = AGENTS[name]
    with_agent(name)
    monkeypatch.setenv(agent.key, "sk-test-key")
    plan = proj.plan([STEPS[0]])
    with agent.fake(TURNS[:1]) as fake:
        monkeypatch.setenv(variable, fake.url)
        result = run_cli("build", "--plan", plan, "--agent", name, "--model", agent.model, "--yes")
    assert result.code == 0, result.out + result.err
    assert git(proj.root, "show", f"{proj.branch()}:src/greet.py") == GREET
