"""A small cache of parsed protected patterns, keyed by the policy blob's object id.

The policy changes rarely, so the guard keeps what it parsed from each version in
`<git dir>/conductor/guard-cache.json`: the patterns with their lines, and the regular
expressions pathspec compiled them to (those that protect, not the `!` ones). On the next
commit it imports neither the YAML parser nor pathspec: a staged path that none of those
expressions finds cannot be protected, and only a path one of them finds is decided by
pathspec itself (policy/patterns.py). The key is the content hash, so an entry can never go
stale; the whole cache is dropped when pathspec changes (its __init__.py's size and time are
kept), since another version may compile a pattern differently.
"""

from __future__ import annotations

import json
import os

MAX_ENTRIES = 16
FORMAT = 2
Patterns = list[tuple[str, int | None]]
Searches = list[tuple[str, int]]


class Entry:
    """One policy version: its protected patterns (text, line) and their regular expressions."""

    __slots__ = ("patterns", "searches")

    def __init__(self, patterns: Patterns, searches: Searches) -> None:
        self.patterns = patterns
        self.searches = searches


def git_dir() -> str | None:
    """The repository's git directory, found as git finds it from the working directory."""
    env = os.environ.get("GIT_DIR")
    if env:
        return env
    here = os.getcwd()
    while True:
        dot_git = os.path.join(here, ".git")
        if os.path.isdir(dot_git):
            return dot_git
        if os.path.isfile(dot_git):
            try:
                with open(dot_git, encoding="utf-8", errors="replace") as f:
                    text = f.read().strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                return os.path.realpath(os.path.join(here, text.removeprefix("gitdir:").strip()))
            return None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def pathspec_stamp() -> list[object]:
    """What identifies the installed pathspec: its __init__.py, with size and modification time.

    Imports pathspec, so it is only called when a policy is parsed anyway."""
    import pathspec

    path = os.path.realpath(pathspec.__file__ or "")
    try:
        st = os.stat(path)
    except OSError:
        return [path, 0, 0]
    return [path, st.st_mtime_ns, st.st_size]


def _stamp_holds(stamp: object) -> bool:
    if not isinstance(stamp, list) or len(stamp) != 3:
        return False
    try:
        st = os.stat(str(stamp[0]))
    except OSError:
        return False
    return [st.st_mtime_ns, st.st_size] == stamp[1:]


class PatternCache:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self.stamp: object = None
        self.dirty = False
        if path is None:
            return
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
            if raw.get("format") == FORMAT and _stamp_holds(raw.get("pathspec")):
                self.stamp = raw["pathspec"]
                for oid, item in raw["entries"].items():
                    patterns = [(str(text), None if line is None else int(line)) for text, line in item[0]]
                    searches = [(str(regex), int(flags)) for regex, flags in item[1]]
                    self.entries[str(oid)] = Entry(patterns, searches)
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            self.entries = {}
            self.stamp = None

    @classmethod
    def open(cls) -> PatternCache:
        directory = git_dir()
        return cls(os.path.join(directory, "conductor", "guard-cache.json") if directory else None)

    def get(self, oid: str) -> Entry | None:
        return self.entries.get(oid)

    def put(self, oid: str, entry: Entry) -> None:
        stamp = pathspec_stamp()
        if stamp != self.stamp:
            self.entries = {}  # parsed under another pathspec
            self.stamp = stamp
        self.entries[oid] = entry
        while len(self.entries) > MAX_ENTRIES:
            del self.entries[next(iter(self.entries))]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        entries = {oid: [e.patterns, e.searches] for oid, e in self.entries.items()}
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            tmp = os.path.join(os.path.dirname(self.path), f".{os.path.basename(self.path)}.{os.getpid()}")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"format": FORMAT, "pathspec": self.stamp, "entries": entries}, f)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time
