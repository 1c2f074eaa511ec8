"""Packaging: the package list, the shipped hook scripts, the two entry points."""

from __future__ import annotations

import importlib.resources
import tomllib

from tests.conftest import ROOT


def test_every_package_directory_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "conductor").rglob("__init__.py")
    }
    assert found | {"conductor._hooks", "conductor._fixtures"} == listed


def test_hook_scripts_ship_inside_the_package() -> None:
    shipped = importlib.resources.files("conductor._hooks").joinpath("pre-commit").read_text()
    assert shipped == (ROOT / "hooks" / "pre-commit").read_text()
    assert (ROOT / "hooks" / "pre-commit").stat().st_mode & 0o111


def test_console_scripts() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["scripts"] == {
        "conductor": "conductor.cli:main",
        "conductor-guard": "conductor.guard.main:main",
    }


def test_top_level_layout() -> None:
    for name in (
        "pyproject.toml",
        "conductor",
        "hooks",
        "tests",
        "fixtures",
        "docs",
        ".pre-commit-hooks.yaml",
        "README.md",
        "bench",
        ".ci/run",
    ):
        assert (ROOT / name).exists(), name


def test_readme_quick_start_has_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [ln for ln in block.strip().splitlines() if not ln.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("conductor demo")
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "# run the tests" in ci and "# run the tests" in block
