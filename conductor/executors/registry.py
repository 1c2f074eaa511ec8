"""The executors Conductor has, in one table, and making one from command-line options or from
the settings a plan recorded.

Each row of `KINDS` declares what the runner needs to know about an executor (its
`Capabilities`), how a person names its recorded settings, and what the command line says of
it: the CLI's --executor choices and help are read from the table, each executor class reads
its own row (`capabilities`), and the runner asks those, never an executor's name. A new
executor is a class and a row (docs/architecture.md, "How to extend").

Cheap to import (the CLI reads the table to build its options): the executors themselves are
imported when one is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conductor.errors import ConductorError

if TYPE_CHECKING:
    from conductor.executors.base import Executor
    from conductor.ledger.store import Ledger
    from conductor.llm.config import LLMSettings


@dataclass(frozen=True)
class Capabilities:
    """What the runner needs to know about an executor. Every field is declared by every row
    (none has a default), so a new executor cannot leave one out."""

    starts_process: bool
    """Conductor starts a process for each attempt and waits for it: after a crash, a claimed
    attempt's leftover processes are killed, and a result it finished is verified instead of
    asked for again."""
    hands_out_files: bool
    """The task waits in the mailbox for an agent outside Conductor, which works in the fork's
    worktree on its own time, even while Conductor is away: a resumed run leaves a handed-out
    step's worktree as it is, and a deadline that passes says how to start an agent."""
    sandboxed: bool
    """Nothing it runs on this machine escapes the step's confinement: its process runs in it,
    or it runs none here (a model's edits are made by Conductor, a worker works elsewhere).
    False: an agent Conductor does not start works here, so every attempt gets the tripwire."""
    uses_model: bool
    """It is the model Conductor calls: it is made with the model's settings (--llm, --model,
    --base-url, or `llm:` in .conductor/config.yaml), which a resume that names it resolves."""


@dataclass(frozen=True)
class Kind:
    """One executor: its name, what it declares, how it is told apart in words."""

    name: str
    does: str  # who does the steps, for --executor's help
    capabilities: Capabilities
    describe: Callable[[dict[str, Any]], str]  # its recorded settings, as a person names them
    implied_by: str = ""  # the option that chooses it without --executor
    answered_by: str = ""
    """For an executor that hands out files: whom to start when nobody answered a task in time
    ({protocol} is the mailbox's PROTOCOL.md)."""


def _agent_words(settings: dict[str, Any]) -> str:
    model = settings.get("model")
    return f"agent {settings.get('agent')}" + (f" ({model})" if model else "")


def _llm_words(settings: dict[str, Any]) -> str:
    llm = settings.get("llm") or {}
    return f"llm {llm.get('provider')}/{llm.get('model')}"


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "handoff",
            "an external agent through the mailbox",
            Capabilities(starts_process=False, hands_out_files=True, sandboxed=False, uses_model=False),
            lambda settings: "handoff",
            answered_by="an agent that follows {protocol}",
        ),
        Kind(
            "mcp",
            "an IDE agent or MCP client through `conductor mcp`",
            Capabilities(starts_process=False, hands_out_files=True, sandboxed=False, uses_model=False),
            lambda settings: "mcp",
            answered_by="an MCP client connected to `conductor mcp` (docs/mcp.md), or an agent that follows"
            " {protocol}",
        ),
        Kind(
            "command",
            "a command Conductor runs itself",
            Capabilities(starts_process=True, hands_out_files=False, sandboxed=True, uses_model=False),
            lambda settings: f"command `{settings.get('exec')}`",
            implied_by="--exec",
        ),
        Kind(
            "agent",
            "a known CLI agent",
            Capabilities(starts_process=True, hands_out_files=False, sandboxed=True, uses_model=False),
            _agent_words,
            implied_by="--agent",
        ),
        Kind(
            "llm",
            "the model",
            Capabilities(starts_process=False, hands_out_files=False, sandboxed=True, uses_model=True),
            _llm_words,
        ),
        Kind(
            "remote",
            "`conductor worker`s elsewhere through a git remote",
            Capabilities(starts_process=False, hands_out_files=False, sandboxed=True, uses_model=False),
            lambda settings: f"remote {settings.get('remote')}",
            implied_by="--remote",
        ),
    )
}


def describe(settings: dict[str, Any]) -> str:
    r"""An executor's recorded settings, as a person names it (`command \`./agent.sh\``)."""
    name = str(settings.get("executor") or "handoff")
    kind = KINDS.get(name)
    return kind.describe(settings) if kind is not None else name


def uses_model(name: str | None) -> bool:
    """Whether the executor named on the command line is made with the model's settings."""
    kind = KINDS.get(name or "")
    return kind is not None and kind.capabilities.uses_model


def choices_help() -> str:
    """Who does the steps, executor by executor, as --executor's help says it."""
    said = [
        f"{kind.does} ({kind.name}" + (f"; implied by {kind.implied_by})" if kind.implied_by else ")")
        for kind in KINDS.values()
    ]
    return ", ".join(said[:-1]) + ", or " + said[-1]


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


NO_EXECUTOR = "no model is configured and no executor was given: nothing would do the steps"
NO_EXECUTOR_HINT = """choose who does them:
  - a model: export GEMINI_API_KEY=... (Gemini), or an OpenAI-compatible server such as Ollama or vLLM:
    --llm openai --base-url http://localhost:11434/v1 --model NAME (or `llm:` in .conductor/config.yaml)
  - a CLI agent: --agent aider|claude|codex|gemini (`conductor agents` lists them), or --exec "CMD"
  - an IDE agent or a person: --executor handoff (tasks as files in .conductor/handoff/, docs/protocol.md),
    or --executor mcp (the same tasks through `conductor mcp`, docs/mcp.md)"""


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
        from conductor.executors.queuekey import queue_key
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
        from conductor.executors.command import CommandExecutor

        return CommandExecutor(command)
    if command:
        raise ConductorError("--exec is for the command executor; drop it or use --executor command")
    if chosen == "handoff":
        from conductor.executors.handoff import HandoffExecutor

        return HandoffExecutor()
    if chosen == "mcp":
        from conductor.executors.mcpdesk import MCPExecutor

        return MCPExecutor()
    if chosen == "llm":
        if llm is None:
            from conductor.llm.config import NO_MODEL_HINT

            raise ConductorError("the llm executor needs a model, and none is configured", hint=NO_MODEL_HINT)
        return llm_executor(llm)
    raise ConductorError(f"unknown executor '{chosen}' (known: {', '.join(KINDS)})")


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
