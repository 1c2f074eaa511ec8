"""docs/architecture.md stays true to the code: every module of a room of runner/, of the ledger
and of commands/output/ is named in its paragraph, and the "How to extend" recipes name only
files that exist and, for each `module.py`'s `NAME`, a name that module defines."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "conductor"
DOC = ROOT / "docs" / "architecture.md"
RECIPES = ("A new executor", "A new policy rule", "A new task field", "A new command")

FILE = re.compile(r"`([\w./-]+\.py|(?:docs|tests|bench)/[\w./-]+|README\.md)`")
"""A file of the repository the page names: a module (`runner/logs/planlog.py`, `place/worktree.py`
in a room's paragraph, `planlog.py`), or a page, a test or a bench (`docs/policy.md`) — not the
records it names (`plan.json`, `pending/step_001.task.json`)."""
NAMED = re.compile(r"`([\w./-]+\.py)`(?:'s)? `(\w+)`")
"""A name a module defines, as the page says it: `executors/registry.py`'s `KINDS`."""


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def paragraph(marker: str) -> str:
    """The paragraph of the page (blank lines around it) in which `marker` first appears."""
    found = [block for block in text().split("\n\n") if marker in block]
    assert found, f"docs/architecture.md has no paragraph with {marker}"
    return found[0]


def section(title: str) -> str:
    """A `## title` section of the page, up to the next `## `."""
    return text().split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def recipes() -> dict[str, str]:
    """The `### ` recipes of "How to extend", by title."""
    parts = section("How to extend").split("\n### ")[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def modules(package: Path) -> list[str]:
    return sorted(p.name for p in package.glob("*.py") if p.name != "__init__.py")


ROOMS = sorted(p.parent.name for p in (PACKAGE / "runner").glob("*/__init__.py"))
PARTS = {f"runner/{room}/": PACKAGE / "runner" / room for room in ROOMS} | {
    "ledger/": PACKAGE / "ledger",
    "commands/": PACKAGE / "commands" / "output",  # the commands' paragraph says what output/ holds
}


@pytest.mark.parametrize("part", sorted(PARTS))
def test_every_module_of_a_room_is_named_in_its_paragraph(part: str) -> None:
    """A newcomer reads one short paragraph per room: it names each of the room's modules."""
    said = paragraph(f"**`{part}`**")
    missing = [name for name in modules(PARTS[part]) if f"`{name}`" not in said]
    assert missing == [], f"docs/architecture.md's {part} paragraph does not name {missing}"


def where(name: str) -> list[Path]:
    """The files a name given on the page can be: from the repository's root, from conductor/ or
    runner/ (`place/worktree.py` in a room's paragraph), or (a module named alone, `planlog.py`)
    any module of the package with that name."""
    candidates = [ROOT / name, PACKAGE / name, PACKAGE / "runner" / name]
    if "/" not in name:
        candidates += sorted(PACKAGE.rglob(name))
    return [path for path in candidates if path.is_file()]


def test_the_page_has_the_four_recipes() -> None:
    assert list(recipes()) == list(RECIPES)


PLACEHOLDER = "NAME"
"""What a recipe writes for the name the reader picks: `executors/NAME.py`."""


def test_every_file_the_page_names_exists() -> None:
    named = {name for name in FILE.findall(text()) if PLACEHOLDER not in name}
    missing = sorted(name for name in named if not where(name))
    assert missing == [], f"docs/architecture.md names files that do not exist: {missing}"


@cache
def defined(path: Path) -> frozenset[str]:
    """The names a module defines at its top level (functions, classes, assignments, imports),
    and those of its classes' bodies (`FailureKind`'s `CONSTRAINT`)."""
    names: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    for node in [*tree.body, *(child for cls in classes for child in cls.body)]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return frozenset(names)


def test_every_name_the_page_gives_of_a_module_is_defined_there() -> None:
    wrong = [
        f"{module}'s {name}"
        for module, name in NAMED.findall(text())
        if where(module) and not any(name in defined(path) for path in where(module))
    ]
    assert wrong == [], f"docs/architecture.md names what these modules do not define: {wrong}"


STEP = re.compile(r"\n(?=\d+\. )|\n\n")
"""Where a recipe's steps (`1. …`) and paragraphs begin."""
DECLARED = re.compile(r"`([A-Z][A-Z0-9_]+|[A-Z][a-z]\w*|test_\w+)`")
"""What a step names that a module defines: a table (`KINDS`), a class (`Executor`), a test."""


@pytest.mark.parametrize("recipe", RECIPES)
def test_what_a_recipe_step_names_is_defined_in_the_modules_it_names(recipe: str) -> None:
    """`executors/registry.py`: its row in `KINDS`: each table, class and test a step of a
    recipe names is defined in one of the modules that step names."""
    wrong = []
    for step in STEP.split(recipes()[recipe]):
        paths = [path for name in FILE.findall(step) if name.endswith(".py") for path in where(name)]
        if paths:
            wrong += [name for name in DECLARED.findall(step) if not any(name in defined(p) for p in paths)]
    assert wrong == [], f"{recipe}: no module its step names defines {wrong}"


def test_the_checks_see_what_is_wrong() -> None:
    """The checkers themselves: a name a module lacks, and a file that is not there."""
    assert "KINDS" in defined(PACKAGE / "executors" / "registry.py")
    assert "KIND" not in defined(PACKAGE / "executors" / "registry.py")
    assert where("executors/registry.py") and where("planlog.py") and not where("runner/nope.py")
    assert NAMED.findall("`executors/registry.py`'s `KINDS` and `runner/plan/launch.py` `begin`") == [
        ("executors/registry.py", "KINDS"),
        ("runner/plan/launch.py", "begin"),
    ]
