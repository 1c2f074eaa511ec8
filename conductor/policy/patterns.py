"""Protected patterns: gitignore semantics (pathspec) on repository-relative paths.

Patterns come in layers (project file, plan, step, built-in). Each layer is matched on its
own and a path is protected if any layer protects it, so a later layer can add protections
but never remove one: a `!pattern` only re-includes within its own layer. Imports no
pydantic, so the guard hook can use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pathspec


@dataclass(frozen=True)
class Pattern:
    """One pattern and where it was written (e.g. `.conductor/policy.yaml:9`)."""

    text: str
    origin: str


@dataclass(frozen=True)
class Protection:
    """Why a path is protected: the deciding pattern and its origin."""

    path: str
    pattern: str
    origin: str


class _Layer:
    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.patterns = list(patterns)
        self.spec = pathspec.GitIgnoreSpec.from_lines(p.text for p in self.patterns)

    def check(self, path: str) -> Pattern | None:
        result = self.spec.check_file(path)
        if result.include and result.index is not None:
            return self.patterns[result.index]
        return None


class ProtectedPatterns:
    """An ordered stack of pattern layers; protections only grow as layers are added."""

    def __init__(self, layers: Iterable[Sequence[Pattern]] = ()) -> None:
        self._layers = [_Layer(layer) for layer in layers if layer]

    def with_layer(self, patterns: Sequence[Pattern]) -> ProtectedPatterns:
        out = ProtectedPatterns()
        out._layers = [*self._layers, *([_Layer(patterns)] if patterns else [])]
        return out

    @property
    def patterns(self) -> list[Pattern]:
        return [p for layer in self._layers for p in layer.patterns]

    def check(self, path: str) -> Protection | None:
        """Why `path` is protected, or None if no layer protects it."""
        clean = path.lstrip("/")
        for layer in self._layers:
            found = layer.check(clean)
            if found is not None:
                return Protection(path=path, pattern=found.text, origin=found.origin)
        return None

    def __bool__(self) -> bool:
        return bool(self._layers)
