"""A small cache of parsed protected patterns, keyed by the policy blob's object id.

The policy changes rarely, so the guard keeps what it parsed from each version in
`<git dir>/conductor/guard-cache`: the patterns with their lines, and the regular expressions
pathspec compiled them to (those that protect, not the `!` ones). On the next commit it
imports neither the YAML parser nor pathspec: a staged path that none of those expressions
finds cannot be protected, and only a path one of them finds is decided by pathspec itself
(policy/patterns.py). The key is the content hash, so an entry can never go stale.

The hit costs no more than it must, so the file is read without json or re (importing them
costs as much as starting Python): a text file of tab-separated fields, strings in hex. Each
expression is kept with the code Python's regular expression engine compiled it to, and
rebuilt from that code (`_sre.compile`, as re.compile does last) when the file was written
by this same Python; the rebuilt expression was checked equal to re.compile's when it was
written (a Pattern compares its code), and any doubt falls back to re.compile. The whole
cache is dropped when pathspec or Python changes (pathspec's __init__.py size and time, and
the Python version and engine are kept), since another version may compile differently.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

MAX_ENTRIES = 16
HEADER = "conductor-guard-cache 3"
NAME = "guard-cache"
LEGACY = "guard-cache.json"  # the format before issue 13; removed when the cache is written
Patterns = list[tuple[str, int | None]]


def _hex(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").hex()


def _unhex(field: str) -> str:
    return bytes.fromhex(field).decode("utf-8", "surrogatepass")


def engine() -> str:
    """The Python and regular expression engine compiled code is valid for."""
    sre = __import__("_sre")
    return _hex(f"{sys.version}|{sys.implementation.name}|{sre.MAGIC}|{sre.CODESIZE}")


class Search:
    """One protecting expression: its source and flags, and the engine's code for it (None
    when that could not be had; then re.compile)."""

    __slots__ = ("code", "flags", "groupindex", "groups", "source")

    def __init__(
        self, source: str, flags: int, groups: int = 0, groupindex: dict[str, int] | None = None
    ) -> None:
        self.source = source
        self.flags = flags
        self.groups = groups
        self.groupindex = groupindex or {}
        self.code: list[int] | None = None

    @classmethod
    def of(cls, source: str, flags: int) -> Search:
        """The expression with its compiled code, kept only if it rebuilds to exactly what
        re.compile gives (called when a policy is parsed)."""
        import importlib
        import re

        expected = re.compile(source, flags)
        search = cls(source, expected.flags, expected.groups, dict(expected.groupindex))
        try:
            parsed = importlib.import_module("re._parser").parse(source, flags)
            search.code = [int(c) for c in importlib.import_module("re._compiler")._code(parsed, flags)]
        except Exception:  # the engine's internals: any surprise means re.compile
            search.code = None
        if search.code is not None and search._rebuilt() != expected:  # a Pattern compares its code
            search.code = None
        return search

    def compiled(self) -> re.Pattern[str]:
        """The compiled expression: from the kept code without importing re, else re.compile."""
        rebuilt = self._rebuilt()
        if rebuilt is not None:
            return rebuilt
        import re

        return re.compile(self.source, self.flags)

    def _rebuilt(self) -> re.Pattern[str] | None:
        """What re.compile's last step makes of the kept code, or None."""
        if self.code is None:
            return None
        indexgroup: list[str | None] = [None] * (self.groups + 1)
        try:
            for name, index in self.groupindex.items():
                indexgroup[index] = name
            sre = __import__("_sre")
            pattern: re.Pattern[str] = sre.compile(
                self.source, self.flags, self.code, self.groups, self.groupindex, tuple(indexgroup)
            )
        except (TypeError, ValueError, RuntimeError, IndexError, OverflowError):
            return None  # not code this engine takes
        return pattern

    def line(self) -> str:
        groups = ",".join(f"{name}={index}" for name, index in self.groupindex.items())
        code = "-" if self.code is None else ",".join(map(str, self.code))
        return "\t".join(["search", str(self.flags), _hex(self.source), str(self.groups), _hex(groups), code])

    @classmethod
    def parse(cls, fields: list[str]) -> Search:
        _, flags, source, groups, groupindex, code = fields
        names = dict(item.rsplit("=", 1) for item in _unhex(groupindex).split(",") if item)
        search = cls(_unhex(source), int(flags), int(groups), {k: int(v) for k, v in names.items()})
        search.code = None if code == "-" else [int(c) for c in code.split(",")]
        return search


class Entry:
    """One policy version: its protected patterns (text, line) and their expressions."""

    __slots__ = ("patterns", "searches")

    def __init__(self, patterns: Patterns, searches: list[Search]) -> None:
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


def pathspec_stamp() -> list[str]:
    """What identifies the installed pathspec: its __init__.py, with size and modification time.

    Imports pathspec, so it is only called when a policy is parsed anyway."""
    import pathspec

    path = os.path.realpath(pathspec.__file__ or "")
    try:
        st = os.stat(path)
    except OSError:
        return [_hex(path), "0", "0"]
    return [_hex(path), str(st.st_mtime_ns), str(st.st_size)]


def _stamp_holds(fields: list[str]) -> bool:
    try:
        st = os.stat(_unhex(fields[0]))
    except (OSError, ValueError, IndexError):
        return False
    return fields[1:] == [str(st.st_mtime_ns), str(st.st_size)]


class PatternCache:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self.stamp: list[str] | None = None
        self.dirty = False
        if path is None:
            return
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            self.stamp, self.entries = _parse(lines)
        except (OSError, ValueError, TypeError, KeyError, IndexError, UnicodeError):
            self.entries = {}
            self.stamp = None

    @classmethod
    def open(cls) -> PatternCache:
        directory = git_dir()
        return cls(os.path.join(directory, "conductor", NAME) if directory else None)

    def get(self, oid: str) -> Entry | None:
        return self.entries.get(oid)

    def put(self, oid: str, entry: Entry) -> None:
        stamp = [engine(), *pathspec_stamp()]
        if stamp != self.stamp:
            self.entries = {}  # parsed under another Python or pathspec
            self.stamp = stamp
        self.entries[oid] = entry
        while len(self.entries) > MAX_ENTRIES:
            del self.entries[next(iter(self.entries))]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None or self.stamp is None:
            return
        lines = [HEADER, "\t".join(["stamp", *self.stamp])]
        for oid, entry in self.entries.items():
            lines.append(f"policy\t{oid}")
            lines.extend(f"pattern\t{'-' if ln is None else ln}\t{_hex(text)}" for text, ln in entry.patterns)
            lines.extend(search.line() for search in entry.searches)
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, exist_ok=True)
            tmp = os.path.join(directory, f".{NAME}.{os.getpid()}")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(tmp, self.path)
            if os.path.exists(os.path.join(directory, LEGACY)):
                os.unlink(os.path.join(directory, LEGACY))
        except OSError:
            pass  # a cache that cannot be written only costs time


def _parse(lines: list[str]) -> tuple[list[str] | None, dict[str, Entry]]:
    """The stamp and entries of a cache file; nothing when it is not this format, or was
    written under another Python or pathspec."""
    if not lines or lines[0] != HEADER or not lines[1].startswith("stamp\t"):
        return None, {}
    stamp = lines[1].split("\t")[1:]
    if not stamp or stamp[0] != engine() or not _stamp_holds(stamp[1:]):
        return None, {}
    entries: dict[str, Entry] = {}
    current: Entry | None = None
    for line in lines[2:]:
        if not line:
            continue
        fields = line.split("\t")
        if fields[0] == "policy":
            current = entries[fields[1]] = Entry([], [])
        elif current is None:
            raise ValueError("a pattern before its policy")
        elif fields[0] == "pattern":
            current.patterns.append((_unhex(fields[2]), None if fields[1] == "-" else int(fields[1])))
        elif fields[0] == "search":
            current.searches.append(Search.parse(fields))
        else:
            raise ValueError(f"unknown line {fields[0]!r}")
    return stamp, entries
