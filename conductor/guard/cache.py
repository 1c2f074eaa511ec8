"""A small cache of parsed protected patterns, keyed by the policy blob's object id.

The policy changes rarely, so the guard keeps what it parsed from each version in
`<git dir>/conductor/guard-cache.json` and skips importing and running the YAML parser on
the next commit. The key is the content hash, so an entry can never go stale.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MAX_ENTRIES = 16
Entry = list[tuple[str, int | None]]


def _git_dir() -> Path | None:
    env = os.environ.get("GIT_DIR")
    if env:
        return Path(env)
    here = Path.cwd()
    for candidate in (here, *here.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                return (candidate / text.removeprefix("gitdir:").strip()).resolve()
            return None
    return None


class PatternCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self.dirty = False
        if path is not None:
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(raw, dict):
                    self.entries = {k: [(str(t), ln) for t, ln in v] for k, v in raw.items()}
            except (OSError, ValueError, TypeError):
                self.entries = {}

    @classmethod
    def open(cls) -> PatternCache:
        git_dir = _git_dir()
        return cls(git_dir / "conductor" / "guard-cache.json" if git_dir else None)

    def get(self, oid: str) -> Entry | None:
        return self.entries.get(oid)

    def put(self, oid: str, entry: Entry) -> None:
        self.entries[oid] = entry
        while len(self.entries) > MAX_ENTRIES:
            del self.entries[next(iter(self.entries))]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(self.entries), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time
