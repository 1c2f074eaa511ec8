"""Fast start: the paths users run most never import the heavy libraries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PYTHON, run_process

HEAVY = ("google.genai", "openai", "sigstore", "rich", "httpx", "httpx2", "pydantic", "mcp")


def imported_by(args: list[str], cwd: Path) -> set[str]:
    code = (
        "import sys\n"
        "from conductor.cli import main\n"
        f"code = main({args!r})\n"
        f"print('MODULES', ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = run_process(PYTHON, "-c", code, cwd=cwd)
    line = [ln for ln in result.out.splitlines() if ln.startswith("MODULES")][-1]
    return set(filter(None, line.split(" ", 1)[1].split(",")))


@pytest.mark.parametrize("args", [["--help"], ["status"], ["status", "--json"], ["events", "--limit", "5"]])
def test_fast_commands_import_nothing_heavy(project: Path, args: list[str]) -> None:
    assert imported_by(args, project) == set()


def test_help_imports_no_pygit2(project: Path) -> None:
    code = "import sys\nfrom conductor.cli import main\nmain(['--help'])\nprint('pygit2' in sys.modules)"
    assert run_process(PYTHON, "-c", code, cwd=project).out.strip().endswith("False")
