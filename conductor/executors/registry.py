"""Making an executor from command-line options or from the settings a plan recorded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conductor.errors import ConductorError
from conductor.executors.base import Executor
from conductor.executors.command import CommandExecutor
from conductor.executors.handoff import HandoffExecutor
from conductor.executors.queuekey import queue_key

if TYPE_CHECKING:
    from conductor.ledger.store import Ledger
    from conductor.llm.config import LLMSettings


@dataclass(frozen=True)
class Agent:
    """`--agent NAME` (or the policy's executor.agent), with the model and API address it gets."""

    name: str
    model: str | None = None
    base_url: str | None = None
    root: Path | None = None  # the project, whose .conductor/agents.yaml may declare it

    def make(self) -> Executor:
        from conductor.executors.agent import AgentExecutor
        from conductor.executors.profiles import find

        return AgentExecutor(find(self.name, self.root), model=self.model, base_url=self.base_url)


NAMES = ("handoff", "command", "agent", "llm", "remote")
NO_EXECUTOR = "no model is configured and no executor was given: nothing would do the steps"
NO_EXECUTOR_HINT = """choose who does them:
  - a model: export GEMINI_API_KEY=... (Gemini), or an OpenAI-compatible server such as Ollama or vLLM:
    --llm openai --base-url http://localhost:11434/v1 --model NAME (or `llm:` in .conductor/config.yaml)
  - a CLI agent: --agent aider|claude|codex|gemini (`conductor agents` lists them), or --exec "CMD"
  - an IDE agent or a person: --executor handoff (tasks as files in .conductor/handoff/, docs/protocol.md)"""


def make(
    name: str | None,
    *,
    command: str | None,
    llm: LLMSettings | None = None,
    remote: str | None = None,
    agent: Agent | None = None,
) -> Executor:
    """`--executor NAME` / `--exec CMD` / `--remote NAME` / `--agent NAME`. Without any: the model
    when one is configured. Without a model either, an error: the handoff mailbox only when asked
    for, as a plan waiting for an agent nobody started would look like a hang."""
    if name is None and not command and not remote and agent is None and llm is None:
        raise ConductorError(NO_EXECUTOR, hint=NO_EXECUTOR_HINT)
    chosen = name or ("command" if command else "remote" if remote else "agent" if agent else "llm")
    if agent is not None and chosen != "agent":
        raise ConductorError(
            f"--agent is for the agent executor, not the {chosen} executor"
            + (
                ": the workers run the agent (conductor worker --remote NAME --agent AGENT)" if remote else ""
            ),
            hint="give one of --agent, --exec, --remote or --executor",
        )
    if chosen == "agent":
        if agent is None:
            raise ConductorError("the agent executor needs an agent", hint="give it with --agent NAME")
        if command:
            raise ConductorError("--exec is for the command executor; --agent runs the agent's own command")
        return agent.make()
    if chosen == "remote":
        if not remote:
            raise ConductorError("the remote executor needs a git remote", hint="give it with --remote NAME")
        if command:
            raise ConductorError("--exec is for the command executor; the workers run their own command")
        from conductor.executors.queue import Queue
        from conductor.executors.remote import RemoteExecutor

        Queue(Path.cwd(), remote).check_remote()  # now, not in the middle of a step
        queue_key()  # the tasks it queues are signed: without the key, say so now
        return RemoteExecutor(remote)
    if remote:
        raise ConductorError("--remote is for the remote executor; drop it or use --executor remote")
    if chosen == "command":
        if not command:
            raise ConductorError(
                "the command executor needs a command",
                hint='give it with --exec, e.g. --exec "/opt/agents/run.sh" (a known agent: --agent NAME)',
            )
        return CommandExecutor(command)
    if command:
        raise ConductorError("--exec is for the command executor; drop it or use --executor command")
    if chosen == "handoff":
        return HandoffExecutor()
    if chosen == "llm":
        if llm is None:
            from conductor.llm.config import NO_MODEL_HINT

            raise ConductorError("the llm executor needs a model, and none is configured", hint=NO_MODEL_HINT)
        return llm_executor(llm)
    raise ConductorError(f"unknown executor '{chosen}' (known: {', '.join(NAMES)})")


def llm_executor(settings: LLMSettings) -> Executor:
    from conductor.executors.llm import LLMExecutor
    from conductor.llm.config import make_provider

    make_provider(settings)  # fail now (no key, no SDK), not in the middle of a step
    return LLMExecutor(
        lambda: make_provider(settings),
        settings=settings.to_json(),
        retries=settings.retries,
        backoff_seconds=settings.retry_backoff_seconds,
    )


def replay_executor(ledger: Ledger, source: str) -> Executor:
    """An llm executor answered from the recordings of plan `source`."""
    from conductor.executors.llm import LLMExecutor, replay_provider

    provider = replay_provider(ledger, source)
    return LLMExecutor(lambda: provider, settings=provider.settings(), retries=0, backoff_seconds=0)


def from_settings(
    settings: dict[str, Any], *, ledger: Ledger | None = None, root: Path | None = None
) -> Executor:
    """The executor a plan runs with, from the settings it recorded (`conductor resume` makes
    another with `make` when the command line names one)."""
    name = str(settings.get("executor") or "handoff")
    if name == "llm":
        llm = dict(settings.get("llm") or {})
        if llm.get("provider") == "replay":
            if ledger is None:
                raise ConductorError("a replayed plan needs the ledger of its source plan")
            return replay_executor(ledger, str(llm.get("source")))
        from conductor.llm.config import LLMSettings

        return llm_executor(LLMSettings.from_json(llm))
    if name == "remote":
        return make(name, command=None, remote=str(settings.get("remote") or ""))
    if name == "agent":
        agent = Agent(
            str(settings.get("agent") or ""),
            model=settings.get("model"),
            base_url=settings.get("base_url"),
            root=root,
        )
        return make(name, command=None, agent=agent)
    return make(name, command=settings.get("exec"))
