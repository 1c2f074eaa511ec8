"""Confidence before execution (docs/protocol.md): a score from factors a reviewer can check.

    history   success rate of similar earlier steps in this repository (Laplace prior: a
              novel kind of step counts as 50%)
    scope     how many files the step may touch; wildcards and "everything" score low
    evidence  whether verify commands will prove the result
    size      expected change against max_diff_lines (planner estimate, else neutral)
    planner   the planner's own estimate, when there is one, blended in

Steps are "similar" when their allowed files have the same shape: the same directories and
file extensions (the signature). Levels: HIGH >= 0.8, MEDIUM >= 0.5 (models/confidence.py).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from conductor.models.confidence import ConfidenceLevel

WEIGHTS = {"history": 0.35, "scope": 0.25, "evidence": 0.25, "size": 0.15}
PLANNER_WEIGHT = 0.3
EVERYTHING = {"**", "*", "**/*", "/**", "./**"}
WILDCARDS = set("*?[")


@dataclass(frozen=True)
class History:
    """What happened to earlier steps with the same signature."""

    signature: str
    attempts: int = 0
    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Factor:
    name: str
    value: float
    weight: float
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "weight": self.weight,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Assessment:
    score: float
    factors: list[Factor]

    @property
    def level(self) -> ConfidenceLevel:
        return ConfidenceLevel.for_score(self.score)

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "level": self.level.value,
            "factors": [f.to_json() for f in self.factors],
        }


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def signature(allowed_files: Sequence[str]) -> str:
    """The shape of a step's scope: `dir/*.ext` per allowed pattern, sorted."""
    shapes = set()
    for pattern in allowed_files:
        clean = pattern.strip("/")
        if clean in EVERYTHING or not clean:
            shapes.add("**")
            continue
        directory, name = posixpath.split(clean)
        ext = posixpath.splitext(name)[1] or (name if not WILDCARDS & set(name) else "*")
        shapes.add(f"{directory or '.'}/*{ext}" if ext.startswith(".") else f"{directory or '.'}/{ext}")
    return ",".join(sorted(shapes))


def signature_key(sig: str) -> str:
    """A short, file-name-safe key for a signature (for the memory ref)."""
    return hashlib.sha256(sig.encode()).hexdigest()[:16]


def _scope(allowed_files: Sequence[str]) -> Factor:
    patterns = [p.strip("/") for p in allowed_files]
    weight = WEIGHTS["scope"]
    if any(p in EVERYTHING or not p for p in patterns):
        return Factor("scope", 0.2, weight, "may change any file that is not protected")
    wild = [p for p in patterns if WILDCARDS & set(p)]
    if wild:
        return Factor(
            "scope", 0.45, weight, f"{_count(len(patterns), 'pattern')}, {len(wild)} with wildcards"
        )
    n = len(patterns)
    value = 1.0 if n == 1 else 0.85 if n <= 3 else 0.7 if n <= 10 else 0.45
    return Factor("scope", value, weight, _count(n, "file"))


def assess(
    *,
    allowed_files: Sequence[str],
    verify: Sequence[str],
    history: History,
    max_diff_lines: int,
    expected_lines: int | None = None,
    planner: float | None = None,
) -> Assessment:
    rate = (history.successes + 1) / (history.attempts + 2)
    if history.attempts:
        detail = (
            f"{history.successes} of {history.attempts} earlier attempts on similar steps "
            f"({history.signature}) succeeded"
        )
        if history.failures:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(history.failures.items()))
            detail += f"; failures: {kinds}"
    else:
        detail = f"novel: no earlier steps like this ({history.signature}) in this repository"
    factors = [Factor("history", rate, WEIGHTS["history"], detail), _scope(allowed_files)]
    if verify:
        factors.append(Factor("evidence", 1.0, WEIGHTS["evidence"], _count(len(verify), "verify command")))
    else:
        factors.append(Factor("evidence", 0.3, WEIGHTS["evidence"], "no verify commands: nothing proves it"))
    if expected_lines is None:
        factors.append(Factor("size", 0.7, WEIGHTS["size"], "expected size unknown"))
    else:
        share = expected_lines / max(1, max_diff_lines)
        value = 1.0 if share <= 0.25 else 0.8 if share <= 0.5 else 0.5 if share <= 1 else 0.1
        factors.append(
            Factor("size", value, WEIGHTS["size"], f"~{expected_lines} of {max_diff_lines} allowed lines")
        )
    if planner is not None:  # blended in: the other weights shrink so that all add up to 1
        factors = [replace(f, weight=round(f.weight * (1 - PLANNER_WEIGHT), 4)) for f in factors]
        factors.append(Factor("planner", planner, PLANNER_WEIGHT, "the planner's own estimate"))
    score = sum(f.value * f.weight for f in factors) / sum(f.weight for f in factors)
    return Assessment(round(min(1.0, max(0.0, score)), 2), factors)


NO_EVIDENCE = (
    "add verify commands that prove the step (policy `verify` or the step's `verify`), or approve it"
)


@dataclass(frozen=True)
class Gate:
    """Why an attempt waits for a person, and how to let it run without one (None: the
    low-confidence failure's own recovery)."""

    reason: str
    hint: str | None = None


def approval_gate(assessment: Assessment, *, threshold: float, verify: Sequence[str]) -> Gate | None:
    """Why an attempt must wait for a person before it runs, or None (docs/protocol.md).

    LOW (below `confidence.approval_below`) always waits. MEDIUM proceeds with caution: only
    when verify commands will prove the result, since they must all run and pass for it to be
    accepted; without them it waits like LOW. HIGH runs.
    """
    level = assessment.level.value.upper()
    if assessment.score < threshold:
        below = (
            ""
            if assessment.level is ConfidenceLevel.LOW
            else f" (below confidence.approval_below {threshold})"
        )
        return Gate(f"{level} confidence {assessment.score:.2f}{below}")
    if assessment.level is not ConfidenceLevel.HIGH and not verify:
        reason = f"{level} confidence {assessment.score:.2f} and no verify commands to prove the result"
        return Gate(reason, NO_EVIDENCE)
    return None
