"""Files Conductor uses at run time, shipped inside the package (so an installed Conductor and
a source checkout find the same files):

    hooks/      the native git hooks `conductor hooks install` writes
    templates/  what `conductor init` writes, and the mailbox's PROTOCOL.md
    fixtures/   the demo's scripted agent, plans and scripted model answers (tests use them too)
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def path(name: str) -> Path:
    """The file `name` (e.g. "hooks/pre-commit") on disk."""
    return Path(str(importlib.resources.files(__name__).joinpath(name)))


def text(name: str) -> str:
    return path(name).read_text(encoding="utf-8")
