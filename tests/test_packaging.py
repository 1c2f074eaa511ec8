"""Packaging: what a wheel ships, and that an installed (not editable) Conductor works as a
source checkout does — console scripts, `python -m conductor`, and the resources the demo,
`init` and `hooks install` read."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

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
    # setuptools builds in the checkout's build/: two test processes building at once (xdist
    # spreads this module's tests) would remove each other's files, so they take turns
    lock = tmp_path_factory.getbasetemp().parent / "wheel-build.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        built = run_process(
            PYTHON, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)
        )
    assert built.code == 0, built.err
    (found,) = out.glob("git_conductor-*.whl")
    return found


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
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
    # the fast tier is a session of its own, first, so CI's log says what it took
    sessions = [part.strip() for part in commands[1].split("&&") if "pytest" in part]
    assert [s.rpartition(" -m ")[2] for s in sessions] == ['"not slow"', "slow"]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_distribution_is_git_conductor_and_the_command_conductor(wheel: Path) -> None:
    """`conductor` on PyPI is an unrelated project: ours is published as git-conductor."""
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    assert "Name: git-conductor" in archive.read(metadata).decode().splitlines()
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    scripts = archive.read(entry_points).decode()
    assert "conductor = " in scripts and "conductor-guard = " in scripts
    # every install line in the docs names the distribution, never the unrelated `conductor`
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for doc in docs:
        for line in doc.read_text().splitlines():
            if "pip install" in line and " -e " not in line and "$" not in line:
                assert "git-conductor" in line, f"{doc.name}: {line.strip()}"


BY_NAME = re.compile(r"""pip install(\s+-\S+)*\s+["']?(git-)?conductor(?![\w./-])(?!\s*@)""")
"""`pip install git-conductor` (or `conductor`) from an index, by name: no release is published."""


def test_every_install_line_installs_from_this_repository_until_a_release_is_published() -> None:
    """The README, docs, CI recipes, the action and Conductor's own hints install git-conductor
    from a clone or pip's git URL, never by name from PyPI, where it is not published."""
    places = [ROOT / "README.md", ROOT / "action.yml", *(ROOT / "docs").glob("*.md")]
    places += [p for p in (ROOT / "deploy").iterdir() if p.is_file()]
    places += list((ROOT / "conductor").rglob("*.py"))
    by_name = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in places
        for line in path.read_text(encoding="utf-8").splitlines()
        if BY_NAME.search(line)
    ]
    assert by_name == []
    readme = (ROOT / "README.md").read_text()
    assert "git clone https://github.com/OWNER/conductor && pip install ./conductor" in readme
    assert 'pip install "git-conductor @ git+https://github.com/OWNER/conductor@main"' in readme
    workflow = (ROOT / "docs" / "provenance.md").read_text().split("### In CI with GitHub Actions", 1)[1]
    steps = yaml.safe_load(workflow.split("```yaml", 1)[1].split("```", 1)[0])["jobs"]["explore"]["steps"]
    assert {"run": 'pip install "git-conductor @ git+https://github.com/OWNER/conductor@main"'} in steps


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_readme_pre_commit_snippet_runs_the_guard_with_the_real_framework(tmp_path: Path) -> None:
    """The README's .pre-commit-config.yaml works as written (no release `rev` that does not
    exist): a protected file is refused, an ordinary one committed."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### With the pre-commit framework", 1)[1]
    config = section.split("```yaml", 1)[1].split("```", 1)[0]
    tags = git(ROOT, "tag", "--list").split()
    for entry in yaml.safe_load(config)["repos"]:  # a `rev:` must be a release that exists
        assert entry["repo"] == "local" or entry.get("rev") in tags, f"no tag {entry.get('rev')!r}"
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".pre-commit-config.yaml").write_text(config)
    (repo / ".conductor").mkdir()
    (repo / ".conductor" / "policy.yaml").write_text("file_rules:\n  protected_patterns: ['*.lock']\n")
    (repo / "app.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    env = {
        **os.environ,
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
    }
    valid = run_process(PYTHON, "-m", "pre_commit", "validate-config", cwd=repo, env=env)
    assert valid.code == 0, valid.out + valid.err
    clean = run_process(PYTHON, "-m", "pre_commit", "run", cwd=repo, env=env, timeout=300)
    assert clean.code == 0, clean.out + clean.err
    git(repo, "commit", "-q", "--no-verify", "-m", "base")
    (repo / "poetry.lock").write_text("v2\n")
    git(repo, "add", "poetry.lock")
    blocked = run_process(PYTHON, "-m", "pre_commit", "run", cwd=repo, env=env, timeout=300)
    assert blocked.code == 1, blocked.out + blocked.err
    assert "protected by '*.lock'" in blocked.out + blocked.err
