"""The layer rules of docs/architecture.md, checked on every module of the package: the two
tables are read from the document, so the rules and their check cannot drift apart."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "conductor"
DOC = ROOT / "docs" / "architecture.md"


@dataclass(frozen=True)
class Import:
    source: str  # the importing file, relative to conductor/
    target: str  # the imported module, dotted ("conductor.runner.plan.launch", "pygit2")
    nested: bool  # inside a function, or under `if TYPE_CHECKING:` (not run at import time)


def table(header: str) -> list[list[str]]:
    """The rows of the table whose first header cell is `header`, cells stripped."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def names(cell: str) -> set[str]:
    return {part.strip().strip("`").rstrip("/") for part in cell.split(",") if part.strip()}


ROOMED = ("runner",)
"""Packages built of rooms: each subpackage is a layer of its own (`runner/logs/` is `runner.logs`)."""


def unit_of(path: str) -> str:
    """The layer of a file: its top-level package or module under conductor/, or for a file in
    a room of a package built of rooms, that room (`runner/plan/launch.py` is `runner.plan`; a
    module directly under `runner/` is `runner`)."""
    parts = path.split("/")
    if parts[0] in ROOMED and len(parts) > 2:
        return f"{parts[0]}.{parts[1]}"
    return parts[0].removesuffix(".py")


def unit_of_module(target: str) -> str:
    """The layer of a dotted module of the package ("conductor.runner.plan.launch" is `runner.plan`)."""
    parts = target.split(".")[1:]
    if parts[0] in ROOMED and len(parts) > 1 and (PACKAGE / parts[0] / parts[1] / "__init__.py").is_file():
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports() -> list[Import]:
    found = []
    for file in sorted(PACKAGE.rglob("*.py")):
        source = file.relative_to(PACKAGE).as_posix()
        tree = ast.parse(file.read_text(encoding="utf-8"))
        at_import_time = {id(node) for node in tree.body}
        for node in tree.body:  # `if TYPE_CHECKING:` blocks never run
            if _type_checking(node):
                at_import_time -= {id(child) for child in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [node.module]
                if node.module.startswith("conductor"):  # `from conductor.runner.plan import launch`
                    targets = [_submodule(node.module, alias.name) for alias in node.names]
            else:
                continue
            for target in targets:
                if target != "conductor.__version__":
                    found.append(Import(source, target, id(node) not in at_import_time))
    return found


def _submodule(module: str, name: str) -> str:
    candidate = PACKAGE.parent.joinpath(*f"{module}.{name}".split("."))
    is_module = candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file()
    return f"{module}.{name}" if is_module else module


ALL_IMPORTS = imports()
LAYERS = {row[0].strip("`"): (names(row[1]), names(row[2])) for row in table("Layer")}
UNITS = sorted(
    [
        path.name.removesuffix(".py")
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").is_file()
    ]
    + [
        f"{package}.{room.parent.name}"
        for package in ROOMED
        for room in (PACKAGE / package).glob("*/__init__.py")
    ]
)


def test_every_layer_of_the_package_has_a_row_and_every_row_a_layer() -> None:
    assert sorted(LAYERS) == UNITS


def _allowed(target: str, entries: set[str]) -> bool:
    """Whether a row's entries allow the module: an entry names a layer or module and all below
    it, so `runner` is every room of runner/ and `runner.plan.launch` that one module."""
    dotted = target.removeprefix("conductor.")
    return any(dotted == entry or dotted.startswith(f"{entry}.") for entry in entries)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_imports_only_what_its_row_allows(layer: str) -> None:
    always, nested_only = LAYERS[layer]
    wrong = []
    for found in ALL_IMPORTS:
        if unit_of(found.source) != layer or not found.target.startswith("conductor."):
            continue
        if unit_of_module(found.target) == layer:
            continue
        if _allowed(found.target, always) or (found.nested and _allowed(found.target, nested_only)):
            continue
        wrong.append(f"{found.source} imports {found.target}" + (" (in a function)" if found.nested else ""))
    assert wrong == []


def _layers_named(entry: str) -> set[str]:
    """The layers a row's entry reaches: its own (`runner.plan.launch` is in `runner.plan`), and
    for a package built of rooms, every room (`runner`)."""
    return {layer for layer in LAYERS if layer.startswith(f"{entry}.") or entry == layer} | {
        max((layer for layer in LAYERS if entry.startswith(f"{layer}.")), key=len, default=entry)
    }


def test_the_table_has_no_cycle() -> None:
    """Floors, not a tangle: no layer may import, even inside functions, one that may import it
    (a room of runner/ included), so no two rooms can come to need each other."""
    reaches = {
        layer: set().union(*(_layers_named(e) for e in always | nested)) - {layer}
        for layer, (always, nested) in LAYERS.items()
    }
    done: list[str] = []

    def visit(layer: str, path: tuple[str, ...]) -> None:
        assert layer not in path, f"a cycle: {' -> '.join((*path, layer))}"
        if layer in done:
            return
        for below in sorted(reaches.get(layer, set())):
            visit(below, (*path, layer))
        done.append(layer)

    for layer in sorted(LAYERS):
        visit(layer, ())


@pytest.mark.parametrize("room", sorted(u for u in UNITS if "." in u))
def test_a_room_says_what_it_holds_and_imports_nothing_when_entered(room: str) -> None:
    """A room's __init__.py is its docstring alone: importing one module of a room loads no other
    (fast start: `conductor status` must not pay for the rest of runner/)."""
    tree = ast.parse((PACKAGE / room.replace(".", "/") / "__init__.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(tree)
    assert [ast.unparse(node) for node in tree.body[1:]] == []


def test_commands_never_import_each_other_and_only_main_imports_the_cli() -> None:
    """What commands show alike lives in commands/output/, which imports no command."""
    wrong = []
    for found in ALL_IMPORTS:
        command = found.target.startswith("conductor.commands.") and not found.target.startswith(
            "conductor.commands.output"
        )
        if found.source.startswith("commands/") and command:
            wrong.append(f"{found.source} imports {found.target}")
        if found.target.startswith("conductor.cli") and unit_of(found.source) not in ("cli", "__main__"):
            wrong.append(f"{found.source} imports {found.target}")
    assert wrong == []


@pytest.mark.parametrize("row", table("Library"), ids=lambda row: row[0].strip("`"))
def test_an_outside_library_is_imported_only_by_its_owner(row: list[str]) -> None:
    library, owners, nested = row[0].strip("`"), names(row[1]), row[2] == "yes"
    users = [i for i in ALL_IMPORTS if i.target == library or i.target.startswith(f"{library}.")]
    assert users, f"nothing imports {library}: remove its row"
    elsewhere = [
        i.source for i in users if not any(i.source == o or i.source.startswith(f"{o}/") for o in owners)
    ]
    assert elsewhere == []
    if nested:
        assert [i.source for i in users if not i.nested] == []


def test_the_check_sees_a_violation() -> None:
    """The checker itself: a module that imported upwards would be found."""
    sample = Import("ledger/store.py", "conductor.runner.fork.context", False)
    always, nested_only = LAYERS["ledger"]
    assert not _allowed(sample.target, always) and not _allowed(sample.target, nested_only)
    assert _allowed("conductor.runner.plan.launch", LAYERS["cli"][1]) and not _allowed(
        "conductor.runner", LAYERS["cli"][0]
    )


LOG_OWNERS = {
    "runner/logs/tipguard.py": "the append of every plan and fork log event (PlanLog, ForkLog)",
    "runner/logs/planlog.py": "a plan log's first event",
    "runner/logs/memory.py": "refs/conductor/memory",
    "runner/logs/tally.py": "refs/conductor/metrics",
}
"""The modules outside ledger/ that may append to a log (docs/architecture.md, runner/logs/)."""


def log_appends(source: str) -> list[str]:
    """Where `source` appends to a ledger log itself: calls of `append`/`append_once` on a
    Ledger (anything named ledger, or one made on the spot)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "append_once")
        ):
            continue
        owner = ast.unparse(node.func.value)
        if owner.split(".")[-1].lower().endswith("ledger") or owner.startswith("Ledger("):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return found


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_only_the_log_owners_append_to_a_log() -> None:
    """A plan log and a fork log have one writer each (runner/logs/planlog.py, forklog.py), which
    keep what their tips hold — the plan's state, the fork's folded state — true."""
    wrong = []
    for file in sorted(PACKAGE.rglob("*.py")):
        source = file.relative_to(PACKAGE).as_posix()
        if source.startswith("ledger/") or source in LOG_OWNERS:
            continue
        wrong += [f"{source} {found}" for found in log_appends(file.read_text(encoding="utf-8"))]
    assert wrong == []


def test_the_log_check_sees_an_append() -> None:
    sample = "def f(fork):\n    fork.ledger.append(ref, event)\n    Ledger(root).append_once(ref, event, f)\n"
    assert [line.split(":")[0] for line in log_appends(sample)] == ["line 2", "line 3"]
    assert log_appends("lines.append(x)\nself.events.append(event)\n") == []


@pytest.mark.parametrize(
    "module", sorted(p.stem for p in (PACKAGE / "commands").glob("*.py") if p.stem != "__init__")
)
def test_every_command_module_has_one_run_that_returns_a_report(module: str) -> None:
    import importlib
    import typing

    from conductor.report import Report

    command = importlib.import_module(f"conductor.commands.{module}")
    returned = typing.get_type_hints(command.run)["return"]
    assert issubclass(returned, Report)
    # the report says the same thing as text and as JSON: both are defined, not inherited stubs
    assert returned.render is not Report.render and returned.to_json is not Report.to_json


def test_every_cli_callback_returns_finish_of_a_commands_run() -> None:
    """The CLI stays thin: what a callback prints and its exit code come from a command's report."""
    callbacks = {}
    for file in ("running.py", "reviewing.py", "inspecting.py", "setting_up.py"):
        tree = ast.parse((PACKAGE / "cli" / file).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            finished = any(
                isinstance(r, ast.Return)
                and isinstance(r.value, ast.Call)
                and ast.unparse(r.value.func) == "finish"
                and isinstance(r.value.args[0], ast.Call)
                and ast.unparse(r.value.args[0].func).endswith(".run")
                for r in ast.walk(node)
            )
            decorated = any(
                isinstance(d, ast.Call) and ast.unparse(d.func).endswith((".command", ".group"))
                for d in node.decorator_list
            )
            if finished or decorated:
                callbacks[f"{file}:{node.name}"] = finished
    assert len(callbacks) >= 20
    # `hooks` is a group that only holds its subcommands
    assert [name for name, finished in callbacks.items() if not finished] == ["setting_up.py:hooks"]


MAX_MODULE_LINES = 450  # issue 21: a module a newcomer reads in one sitting
MAX_CLASS_LINES = 300


def oversized(name: str, text: str) -> list[str]:
    """The module itself, and each class in it, when longer than the limits."""
    found = []
    if (length := len(text.splitlines())) > MAX_MODULE_LINES:
        found.append(f"{name}: {length} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            span = (node.end_lineno or node.lineno) - node.lineno + 1
            if span > MAX_CLASS_LINES:
                found.append(f"{name}: class {node.name}, {span} lines")
    return found


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_no_module_is_over_450_lines_and_no_class_over_300() -> None:
    """Past these sizes a module holds more than one concept: split it along a seam (one concept
    a module, named by a noun), and add the new module to its room's paragraph in the doc."""
    modules = sorted(PACKAGE.rglob("*.py"))
    found = [o for path in modules for o in oversized(str(path.relative_to(ROOT)), path.read_text("utf-8"))]
    assert found == []


def test_the_size_check_sees_a_long_module_and_a_long_class() -> None:
    big = "class Big:\n" + "    x = 1\n" * MAX_CLASS_LINES + "y = 2\n" * (MAX_MODULE_LINES - MAX_CLASS_LINES)
    assert oversized("big.py", big) == [
        f"big.py: {MAX_MODULE_LINES + 1} lines",
        f"big.py: class Big, {MAX_CLASS_LINES + 1} lines",
    ]
    assert oversized("small.py", "class Small:\n" + "    x = 1\n" * (MAX_CLASS_LINES - 1)) == []
