"""`conductor agents [NAME...]`: the agent profiles, whether each is installed, its version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from conductor.errors import NotARepositoryError
from conductor.executors.profiles import AGENTS_FILE, find
from conductor.project import find_root
from conductor.report import Report, table
from conductor.runner.install.agents import AgentInfo, agents

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class AgentsReport(Report):
    agents: list[AgentInfo]

    def to_json(self) -> list[c.Agent]:
        return [
            {
                "name": a.name,
                "description": a.description,
                "origin": a.origin,
                "program": a.program,
                "installed": a.path is not None,
                "path": a.path,
                "version": a.version,
                "install": a.install,
                "keys": a.keys,
                "scratch": a.scratch,
                "command": a.command,
            }
            for a in self.agents
        ]

    def render(self) -> str:
        rows = [["AGENT", "INSTALLED", "API KEY", "FROM"]]
        for agent in self.agents:
            installed = (agent.version or agent.path or "") if agent.path else "no"
            keys = [name for name, present in agent.keys.items() if present]
            key = (keys[0] + " set") if keys else ("none set" if agent.keys else "-")
            rows.append([agent.name, installed, key, agent.origin])
        lines = [table(rows)]
        missing = [a for a in self.agents if a.path is None and a.install]
        if missing:
            lines.append("")
            lines += [f"Install {a.name}: {a.install}" for a in missing]
        lines.append("")
        lines.append("Run one: conductor build --plan plan.yaml --agent NAME [--model MODEL]")
        lines.append(
            f"Add or change one in {AGENTS_FILE} (docs/agents.md); details: conductor agents NAME --json"
        )
        return "\n".join(lines)


def run(names: list[str]) -> AgentsReport:
    try:
        root = find_root()
    except NotARepositoryError:
        root = None  # outside a repository: the built-in profiles
    for name in names:
        find(name, root)  # an unknown name is an error that lists the known ones
    return AgentsReport(agents(root, names or None))
