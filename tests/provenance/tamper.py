"""Rewriting a recorded ledger the way an attacker (or a careless script) would, with git itself."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import git


def _git(root: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=root, input=input, capture_output=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().strip()


def rewrite_tip(root: Path, ref: str, path: str, change: Callable[[bytes], bytes | None]) -> None:
    """Replace the tip of `ref` by a commit with the same parent and message in which `path`
    holds `change(old bytes)` (None deletes it) — the log keeps its length and numbering."""
    tip = _git(root, "rev-parse", ref)
    old = subprocess.run(
        ["git", "cat-file", "blob", f"{tip}:{path}"], cwd=root, capture_output=True, check=False
    )
    new = change(old.stdout if old.returncode == 0 else b"")
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(root, "read-tree", tip, env=env)
        if new is None:
            _git(root, "update-index", "--force-remove", path, env=env)
        else:
            blob = _git(root, "hash-object", "-w", "--stdin", input=new)
            _git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = _git(root, "write-tree", env=env)
    message = _git(root, "cat-file", "commit", tip).split("\n\n", 1)[1].encode()
    commit = _git(root, "commit-tree", tree, "-p", f"{tip}^", input=message)
    git(root, "update-ref", ref, commit)


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
