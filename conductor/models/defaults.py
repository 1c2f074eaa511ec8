"""Every policy default, in one place: the effective policy starts from it
(conductor/policy/effective.py), the policy schema's descriptions say it (models/policy.py), and
`conductor init`'s policy file is written with it (resources/templates/policy.yaml, whose
`{default:KEY}` marks are filled from here). Cheap to import: no pydantic.
"""

from __future__ import annotations

from typing import Any

MAX_FILE_BYTES = 8 << 20
"""behavior.max_file_bytes by default. Source files, lock files and fixtures fit with room to spare;
a file at the limit costs Conductor a few times its size while it checks it (the content, its blob,
the diff), a few tens of MB."""
MAX_CHANGE_BYTES = 64 << 20
"""behavior.max_change_bytes by default: eight files at the per-file limit."""
MAX_RESULT_BYTES = 1 << 20
"""behavior.max_result_bytes by default: a result or explanation file is a few KiB."""
CONVENTION_FILES = ["AGENTS.md", "CLAUDE.md", "GEMINI.md"]
"""conventions.files by default: AGENTS.md (the open standard), else the file Claude Code or
Gemini CLI reads, in each directory (docs/conventions.md)."""
LAYERED_FILES = 5000
"""workspace.layers: auto layers the forks of repositories with at least this many tracked files;
smaller ones keep a git worktree a person can cd into (a worktree's checkout costs little there)."""

DEFAULTS: dict[str, Any] = {
    "behavior.max_diff_lines": 500,
    "behavior.max_files_changed": None,
    "behavior.timeout_seconds": 300,
    "behavior.max_attempts": 2,
    "behavior.shell_commands": False,
    "verify.timeout_seconds": 300,
    "confidence.approval_below": 0.5,
    "provenance.sign": "auto",
    "behavior.max_result_bytes": MAX_RESULT_BYTES,
    "behavior.max_file_bytes": MAX_FILE_BYTES,
    "behavior.max_change_bytes": MAX_CHANGE_BYTES,
    "sandbox.mode": "auto",
    "sandbox.network": True,
    "sandbox.unix_sockets": False,
    "workspace.env": None,
    "workspace.worktrees": None,
    "workspace.layers": "auto",
    "executor.agent": None,
    "executor.model": None,
    "limits.memory": "8G",
    "limits.processes": 4096,
    "limits.file_size": "4G",
    "limits.cpu_seconds": None,
    "conventions.enabled": True,
    "conventions.files": CONVENTION_FILES,
    "conventions.max_file_bytes": 16384,
    "conventions.max_bytes": 32768,
}
"""The value of each scalar setting no policy layer sets (None: unset, no limit)."""


def shown(value: Any) -> str:
    """A policy value as the policy file writes it: `true`, `null`, `300`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    return str(value)


def said(key: str) -> str:
    """The default of `key` as a description says it: `default 300`, `default: no limit`."""
    value = DEFAULTS[key]
    return "default: no limit" if value is None else f"default {shown(value)}"
