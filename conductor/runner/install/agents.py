"""`conductor agents`: the agent profiles a project can use (built-in, then .conductor/agents.yaml),
whether each one's program is installed here, its version, and whether its API key is set."""

from __future__ import annotations

import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from conductor.executors.profiles import Profile, load

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


def agents(root: Path | None, names: list[str] | None = None) -> list[AgentInfo]:
    """The profiles (all, or those named), each probed for its program and version at once."""
    profiles = load(root)
    chosen = [profiles[name] for name in names] if names else list(profiles.values())
    with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        return list(pool.map(describe, chosen))
