"""The agent profiles a project can use: the built-in ones (conductor/resources/agents.yaml),
then the project's `.conductor/agents.yaml` (a profile of the same name replaces the built-in
one). docs/agents.md describes them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from conductor import resources
from conductor.errors import ConductorError
from conductor.models.agent import AgentProfileSpec, AgentsFile
from conductor.models.loader import validate
from conductor.models.source import parse, read_file

AGENTS_FILE = ".conductor/agents.yaml"
BUILTIN = "agents.yaml"


@dataclass(frozen=True)
class Profile:
    """A profile and where it was declared."""

    name: str
    spec: AgentProfileSpec
    origin: str  # "built-in" or ".conductor/agents.yaml:12"

    def program_path(self, path: str | None = None) -> str | None:
        """Where the program is on `path` (default: this process's PATH), or None."""
        return shutil.which(self.spec.program, path=path if path is not None else os.environ.get("PATH"))


def _builtin() -> dict[str, Profile]:
    doc = parse(resources.text(BUILTIN), path="conductor/resources/agents.yaml")
    spec = validate(doc, AgentsFile)
    return {name: Profile(name, profile, "built-in") for name, profile in spec.agents.items()}


def load(root: Path | None) -> dict[str, Profile]:
    """Every profile the project can use, by name: built-in ones, then the project's."""
    found = _builtin()
    file = root / AGENTS_FILE if root is not None else None
    if file is None or not (file.exists() or file.is_symlink()):
        return found
    doc = read_file(file, display=AGENTS_FILE)
    declared = validate(doc, AgentsFile, schema="agents")
    for name, spec in declared.agents.items():
        line = doc.line_of(("agents", name))
        found[name] = Profile(name, spec, f"{AGENTS_FILE}:{line}" if line else AGENTS_FILE)
    return found


def find(name: str, root: Path | None) -> Profile:
    """The profile `name`, or an error that lists the known ones."""
    profiles = load(root)
    if name not in profiles:
        raise ConductorError(
            f"no agent profile '{name}' (known: {', '.join(sorted(profiles))})",
            hint=f"`conductor agents` lists them; add your own in {AGENTS_FILE} (docs/agents.md)",
        )
    return profiles[name]


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with its placeholders replaced (a profile's templates are checked on load)."""
    try:
        return template.format_map(dict(values))
    except (KeyError, ValueError, IndexError) as exc:  # only from a profile validated elsewhere
        raise ConductorError(f"cannot fill the agent template {template!r}: {exc}") from None
