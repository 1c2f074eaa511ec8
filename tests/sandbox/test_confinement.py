"""Launching under a confinement: the network switch, and what `required` and `auto` do
where bubblewrap cannot run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conductor.sandbox import bwrap, confinement
from conductor.sandbox.confinement import Confinement, SandboxError, isolate, launch
from tests.conftest import NO_SANDBOX, git
from tests.scenario import Project, build

CONNECT = (
    f"{sys.executable} -c \"import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])))\""
)


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        yield server.getsockname()[1]


def run(confined: Confinement, command: str) -> subprocess.CompletedProcess[str]:
    with launch(confined, command, env=dict(os.environ)) as prepared:
        return subprocess.run(
            prepared.argv,
            cwd=confined.workspace,
            capture_output=True,
            text=True,
            check=False,
            **prepared.options(),
        )


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")
@pytest.mark.parametrize("network", [True, False])
def test_the_network_is_on_unless_the_policy_cuts_it(
    repo: Path, tmp_path: Path, listening: int, network: bool
) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "--detach", str(worktree))
    confined = Confinement(
        workspace=worktree, repo_root=repo, git_dir=repo / ".git", isolated=True, network=network
    )
    proc = run(confined, f"{CONNECT} {listening}")
    assert (proc.returncode == 0) is network, proc.stderr


@pytest.fixture
def no_bubblewrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine without bwrap on its PATH (git and sh still on it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    bwrap.unavailable.cache_clear()
    monkeypatch.setattr(confinement, "_said", type(confinement._said)())
    yield
    monkeypatch.undo()
    bwrap.unavailable.cache_clear()


def test_required_refuses_without_bubblewrap_and_says_how_to_get_it(no_bubblewrap: None) -> None:
    with pytest.raises(SandboxError) as caught:
        isolate("required")
    assert "bubblewrap (bwrap) is not installed" in str(caught.value)
    assert "apt-get install bubblewrap" in (caught.value.hint or "")


def test_auto_falls_back_and_says_so_once(no_bubblewrap: None) -> None:
    assert isolate("auto") is False
    note = confinement.fallback_note()
    assert note is not None and "no sandbox: bubblewrap (bwrap) is not installed" in note
    assert confinement.fallback_note() is None
    assert isolate("off") is False


def test_a_build_under_required_stops_before_anything_is_recorded(
    proj: Project, run_cli, no_bubblewrap: None
) -> None:
    proj.sandbox("required")
    plan = proj.plan([{"title": "t", "instruction": "i", "allowed_files": ["new.py"]}])
    result = build(run_cli, proj, plan, "true")
    assert result.code == 1
    assert "the policy requires a sandbox (sandbox.mode: required)" in result.err
    assert proj.ledger().plans() == []


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")
def test_the_folders_a_virtualenvs_pth_files_add_are_shown_and_nothing_beside_them(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a virtualenv on PATH in a hidden place (/tmp), whose packages come partly from elsewhere
    # there (an editable install, shared site-packages): that folder is part of its toolchain
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    shared, beside = tmp_path / "shared", tmp_path / "beside"
    shared.mkdir()
    beside.mkdir()
    (shared / "dep.py").write_text("X = 1\n")
    (site / "deps.pth").write_text(f"# shared\n{shared}\nimport os; os.system('true')\n")
    monkeypatch.setenv("PATH", f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "--detach", str(worktree))
    confined = Confinement(workspace=worktree, repo_root=repo, git_dir=repo / ".git", isolated=True)
    proc = run(confined, f"cat {shared / 'dep.py'} && test -f {site / 'deps.pth'} && ! test -e {beside}")
    assert proc.returncode == 0 and proc.stdout == "X = 1\n", proc.stderr
