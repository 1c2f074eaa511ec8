"""Packaging: what a wheel ships, and that an installed (not editable) Conductor works as a
source checkout does — console scripts, `python -m conductor`, and the resources the demo,
`init` and `hooks install` read."""

from __future__ import annotations

import os
import subprocess
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, git, run_process


def test_every_package_directory_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "conductor").rglob("__init__.py")
    }
    assert found == listed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run_process(
        PYTHON, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)
    )
    assert built.code == 0, built.err
    (found,) = out.glob("conductor-*.whl")
    return found


def test_the_wheel_ships_every_resource(wheel: Path) -> None:
    tracked = git(ROOT, "ls-files", "conductor/resources").split()
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert tracked and sorted(set(tracked) - shipped) == []


@pytest.mark.slow
def test_an_installed_wheel_runs_the_demo_and_its_entry_points(wheel: Path, tmp_path: Path) -> None:
    # A fresh environment with only the wheel installed; its dependencies come from this one's
    # site-packages through a .pth line, which adds the directory without running the .pth
    # files in it (so this checkout's editable install stays out of the way).
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run_process(
        PYTHON, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)
    )
    assert installed.code == 0, installed.err
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    where = run_process(
        str(python), "-c", "import conductor; print(conductor.__file__)", env=env, cwd=tmp_path
    )
    assert where.out.startswith(str(site)), where.out
    assert run_process(str(python), "-m", "conductor", "--help", env=env, cwd=tmp_path).code == 0
    version = run_process(str(env_dir / "bin" / "conductor"), "--version", env=env, cwd=tmp_path)
    assert version.out.startswith("conductor, version")
    assert run_process(str(env_dir / "bin" / "conductor-guard"), "--help", env=env, cwd=tmp_path).code == 0
    demo = run_process(str(env_dir / "bin" / "conductor"), "demo", env=env, cwd=tmp_path, timeout=300)
    assert demo.code == 0, demo.out[-3000:] + demo.err[-3000:]
    # the scripted answers (fixtures), the policy template (init) and the guard hook (hooks)
    assert "Every step produced the same tree." in demo.out and "commit refused" in demo.out


def test_readme_quick_start_has_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [ln for ln in block.strip().splitlines() if not ln.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("conductor demo")
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "# run the tests" in ci and "# run the tests" in block
