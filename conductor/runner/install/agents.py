"""`conductor agents`: the agent profiles a project can use (built-in, then .conductor/agents.yaml),
whether each one's program is installed here, its version, and whether its API key is set."""

from __future__ import annotations

import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conductor.executors.profiles import AGENTS_FILE, Profile, load
from conductor.report import Report, table

VERSION_TIMEOUT = 20.0


@dataclass
class AgentInfo:
    name: str
    description: str
    origin: str
    program: str
    path: str | None  # where the program is, None: not installed
    version: str | None
    install: str
    keys: dict[str, bool]  # its API-key variables: set in this environment or not
    scratch: list[str] = field(default_factory=list)
    command: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "origin": self.origin,
            "program": self.program,
            "installed": self.path is not None,
            "path": self.path,
            "version": self.version,
            "install": self.install,
            "keys": self.keys,
            "scratch": self.scratch,
            "command": self.command,
        }


def version(path: str, arguments: list[str]) -> str | None:
    """The first line the program prints for its version (in a home of its own: a version probe
    writes nothing of the user's), or None when it does not answer."""
    with tempfile.TemporaryDirectory(prefix="conductor-agent-version-") as home:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "NO_COLOR": "1", "LANG": "C.UTF-8"}
        try:
            proc = subprocess.run(
                [path, *arguments],
                capture_output=True,
                text=True,
                env=env,
                cwd=home,
                stdin=subprocess.DEVNULL,
                timeout=VERSION_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        if line.strip():
            return line.strip()[:120]
    return None


def describe(profile: Profile) -> AgentInfo:
    from conductor.executors.agent import AgentExecutor

    spec = profile.spec
    path = profile.program_path()
    return AgentInfo(
        name=profile.name,
        description=spec.description,
        origin=profile.origin,
        program=spec.program,
        path=path,
        version=version(path, list(spec.version_args)) if path else None,
        install=spec.install,
        keys={name: bool(os.environ.get(name)) for name in spec.key_env},
        scratch=list(spec.scratch),
        command=AgentExecutor(profile).command,
    )


@dataclass
class AgentsReport(Report):
    agents: list[AgentInfo]

    def to_json(self) -> list[dict[str, Any]]:
        return [agent.to_json() for agent in self.agents]

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


def agents(root: Path | None, names: list[str] | None = None) -> AgentsReport:
    """The profiles (all, or those named), each probed for its program and version at once."""
    profiles = load(root)
    chosen = [profiles[name] for name in names] if names else list(profiles.values())
    with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        return AgentsReport(list(pool.map(describe, chosen)))
