"""Rewriting a recorded ledger the way an attacker (or a careless script) would, with git itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conductor.commands.demo import rewrite_record as rewrite_tip
from tests.conftest import git

__all__ = ["drop_event", "flip", "rewrite_tip"]


def _git(root: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=root, input=input, capture_output=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().strip()


def drop_event(root: Path, ref: str, back: int = 1) -> None:
    """Remove the event `back` commits below the tip, keeping the tip's tree and message."""
    tip = _git(root, "rev-parse", ref)
    message = _git(root, "cat-file", "commit", tip).split("\n\n", 1)[1].encode()
    tree = _git(root, "rev-parse", f"{tip}^{{tree}}")
    parent = _git(root, "rev-parse", f"{tip}~{back + 1}")
    git(root, "update-ref", ref, _git(root, "commit-tree", tree, "-p", parent, input=message))


def flip(data: bytes, at: int) -> bytes:
    """`data` with the byte at `at` (from the middle if negative) changed."""
    index = at % len(data)
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]
