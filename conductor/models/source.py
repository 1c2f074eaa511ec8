"""Reading YAML config files safely, remembering the line of every value.

Used for the policy, plan files and config. Refuses what a config file never needs and an
attacker might use: aliases (the "billion laughs" expansion), duplicate keys, non-UTF-8,
multiple documents, huge files. Imports no pydantic, so the guard hook can use it.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from conductor.errors import ConfigError

MAX_BYTES = 1 << 20

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML data plus the 1-based line of each value, keyed by its location."""

    path: str
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int | None:
        """The line of `location`, or of its nearest ancestor that has one."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, so no document can expand exponentially."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            line = event.start_mark.line + 1 if event.start_mark else None
            raise _AliasRefused(line)
        return super().compose_node(parent, index)


class _AliasRefused(Exception):
    def __init__(self, line: int | None) -> None:
        self.line = line


def parse(text: bytes | str, *, path: str) -> YamlDocument:
    """Parse one YAML document from `text`; errors name `path` and the line."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ConfigError(f"file is larger than {MAX_BYTES // 1024} KiB", path=path)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    if len(text) > REMEMBERED_CHARS:
        return _parse(text, path)
    # The same policy and plan texts are read again and again (each step's effective policy);
    # the parse is remembered, and each caller gets its own copy of the data to change.
    found = _remembered(text, path)
    return YamlDocument(path=found.path, data=copy.deepcopy(found.data), lines=dict(found.lines))


REMEMBERED_CHARS = 64 * 1024


@functools.lru_cache(maxsize=64)
def _remembered(text: str, path: str) -> YamlDocument:
    return _parse(text, path)


def _parse(text: str, path: str) -> YamlDocument:
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise ConfigError(
            "file is empty", path=path, hint="add settings, or delete the file to use the defaults"
        )
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("file holds no YAML document", path=path)
        lines: dict[Location, int] = {}
        _index(node, (), lines, path)
        data = loader.construct_document(node)
    except _AliasRefused as exc:
        raise ConfigError(
            "YAML aliases (*name) are not allowed here; write the value out", path=path, line=exc.line
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # PyYAML reports an unexpected end of file one line past the end; point at the last.
        line = min(mark.line + 1, max(1, len(text.splitlines()))) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem:
            problem += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        raise ConfigError(f"invalid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from None
    finally:
        loader.dispose()
    return YamlDocument(path=path, data=data, lines=lines)


def read_file(file: Path, *, display: str | None = None) -> YamlDocument:
    """Read and parse a YAML file; every way the file can be unusable is a ConfigError."""
    name = display or str(file)
    if file.is_dir():
        raise ConfigError("is a directory, not a file", path=name)
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", path=name) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", path=name) from None
    return parse(raw, path=name)


def _index(node: Node, loc: Location, lines: dict[Location, int], path: str) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"key '{key}' appears twice (first on line {seen[key]})",
                    path=path,
                    line=line,
                    field=".".join(str(p) for p in (*loc, key)),
                )
            seen[key] = line
            _index(value_node, (*loc, key), lines, path)
            lines[(*loc, key)] = line
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*loc, i), lines, path)
