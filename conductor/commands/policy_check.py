"""`conductor policy check [FILE]`: validate a policy file (default: the project's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from conductor.policy.effective import flatten
from conductor.policy.project import load_layer
from conductor.project import POLICY_FILE, find_root
from conductor.report import Report

if TYPE_CHECKING:
    from conductor.commands.output import contract as c


@dataclass
class PolicyCheck(Report):
    file: str
    sets: list[str] = field(default_factory=list)  # the settings the file sets

    def to_json(self) -> c.PolicyCheck:
        return {"path": self.file, "valid": True, "sets": self.sets}

    def render(self) -> str:
        return f"{self.file}: valid"


def run(file: str | None) -> PolicyCheck:
    """Raises ConfigError (naming file, line and field) when the file is invalid."""
    if file is None:
        path, display = find_root() / POLICY_FILE, POLICY_FILE
    else:
        path, display = Path(file), file
    layer = load_layer(path, display=display)
    return PolicyCheck(display, sorted(flatten(layer.policy)))
