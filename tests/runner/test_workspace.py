"""Self-sufficient worktrees on a real project: a src-layout package installed editable in the
user's active venv, its own test suite as the verify command (docs/policy.md, Workspace)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conductor.models.event import EventType
from conductor.runner.place.workspace import environment, import_leak
from tests.conftest import SANDBOX_MODES, git
from tests.scenario import Project, build

CALC = "def add(a, b):\n    return a + b\n"
TEST = (
    "import unittest\n\nimport calc\n\n\n"
    "class TestCalc(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(calc.add(2, 2), 4)\n"
)
SETUP = (
    "from setuptools import setup\n\n"
    'setup(name="calc", version="0.1", package_dir={"": "src"}, packages=["calc"])\n'
)
VERIFY = "python -m unittest discover -s tests -q"


def policy(proj: Project, text: str) -> None:
    path = proj.root / ".conductor" / "policy.yaml"
    path.write_text(path.read_text() + "\n" + text)
    git(proj.root, "commit", "-q", "-am", "policy")


@pytest.fixture
def real(proj: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The project made a src-layout package with tests, installed editable in `.venv` (which
    is on PATH as if activated) as `pip install -e .` installs it: a .pth file in the venv's
    site-packages holding the path to the checkout's src/."""
    root = proj.root
    (root / "src" / "calc").mkdir(parents=True)
    (root / "src" / "calc" / "__init__.py").write_text(CALC)
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(TEST)
    (root / "setup.py").write_text(SETUP)
    (root / ".gitignore").write_text(".venv/\n*.egg-info/\nbuild/\n__pycache__/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "calc")
    venv.create(root / ".venv", with_pip=False)  # pip would take seconds to install, and is not used
    (site,) = (root / ".venv" / "lib").glob("python*/site-packages")
    (site / "__editable___calc_0_1.pth").write_text(f"{root / 'src'}\n")
    monkeypatch.setenv("VIRTUAL_ENV", str(root / ".venv"))
    monkeypatch.setenv("PATH", f"{root / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    # the editable install points at the checkout, not at a worktree
    where = subprocess.run(
        ["python", "-c", "import calc; print(calc.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(root / "src" / "calc" / "__init__.py")
    return proj


def step(title: str = "Change calc") -> dict[str, object]:
    return {
        "title": title,
        "instruction": "Edit calc.",
        "allowed_files": ["src/**", "tests/**"],
        "verify": [VERIFY],
    }


BREAK = {"*": [{"write": {"src/calc/__init__.py": "def add(a, b):\n    return a - b\n"}}]}
GOOD = {
    "*": [
        {
            "write": {
                "src/calc/__init__.py": CALC + "\n\ndef mul(a, b):\n    return a * b\n",
                "tests/test_mul.py": "import unittest\n\nimport calc\n\n\nclass TestMul(unittest.TestCase):\n"
                "    def test_mul(self):\n        self.assertEqual(calc.mul(3, 4), 12)\n",
            }
        }
    ]
}


@pytest.mark.slow
def test_without_a_sandbox_verify_that_would_test_the_checkout_fails_with_a_hint(
    real: Project, run_cli
) -> None:
    real.sandbox("off")
    result = build(run_cli, real, real.plan([step()]), real.agent(BREAK), "--json")
    assert result.code == 1  # before: accepted, its tests ran against the checkout
    (rejected,) = [e for e in real.events() if e.type is EventType.TASK_REJECTED][:1]
    assert "`import calc` resolves to" in rejected.summary
    assert "workspace.env" in rejected.data["hint"] and rejected.data["kind"] == "verify_failed"
    explained = run_cli("explain", "step_001", "--plan", real.only_plan())
    assert str(real.root / "src" / "calc" / "__init__.py") in explained.out
    assert "workspace.env: {PYTHONPATH: src}" in explained.out


@pytest.mark.slow
@pytest.mark.parametrize("mode", SANDBOX_MODES)
def test_workspace_env_makes_the_worktree_the_code_under_test(real: Project, run_cli, mode: str) -> None:
    real.sandbox(mode)
    policy(real, "workspace:\n  env:\n    PYTHONPATH: src\n")
    broke = build(run_cli, real, real.plan([step()], name="break.yaml"), real.agent(BREAK, "break.json"))
    assert broke.code == 1
    plan = sorted(real.ledger().plans())[0]
    rejected = [e for e in real.events(plan) if e.type is EventType.TASK_REJECTED]
    assert rejected and rejected[0].data["kind"] == "verify_failed"
    assert "exited with" in rejected[0].summary  # its own test suite said no
    good = build(run_cli, real, real.plan([step("Add mul")], name="good.yaml"), real.agent(GOOD, "good.json"))
    assert good.code == 0, good.err
    # test_mul passed, so the tests imported the worktree's calc: the checkout has no mul
    assert "def mul" not in (real.root / "src" / "calc" / "__init__.py").read_text()


@pytest.mark.slow
def test_setup_runs_once_per_worktree_and_again_when_an_input_changes(proj: Project, run_cli) -> None:
    (proj.root / ".env").write_text("TOKEN=local-only\n")  # untracked, not ignored
    (proj.root / "requirements.txt").write_text("v1\n")
    git(proj.root, "add", "requirements.txt")
    git(proj.root, "commit", "-q", "-m", "lock")
    policy(
        proj,
        "workspace:\n  setup:\n    - echo set up >> setup.log; mkdir -p build; echo x > build/artifact\n"
        "  setup_inputs: [requirements.txt]\n  copy: [.env]\n",
    )
    script = {
        "step_001": {"*": [{"write": {"a.txt": "a\n"}}]},
        "step_002": {"*": [{"write": {"requirements.txt": "v2\n"}}]},
        "step_003": {"*": [{"write": {"c.txt": "c\n"}}]},
    }
    steps = [
        {"title": "A", "instruction": "a", "allowed_files": ["a.txt"], "verify": ["test -f .env"]},
        {"title": "Lock", "instruction": "b", "allowed_files": ["requirements.txt"]},
        {"title": "C", "instruction": "c", "allowed_files": ["c.txt"], "verify": ["test -f build/artifact"]},
    ]
    result = build(run_cli, proj, proj.plan(steps), proj.agent(script))
    assert result.code == 0, result.err
    prepared = [e for e in proj.events() if e.type is EventType.WORKSPACE_PREPARED]
    assert [(e.step, e.data["reason"]) for e in prepared] == [
        ("step_001", "new worktree"),
        ("step_003", "a setup input changed"),
    ]
    assert prepared[0].data["copied"] == [".env"] and prepared[0].data["commands"][0]["exit_code"] == 0
    assert (proj.worktree() / "setup.log").read_text() == "set up\nset up\n"
    # what the copy and the setup made is the workspace's: never committed
    files = git(proj.root, "ls-tree", "-r", "--name-only", proj.branch()).split()
    assert {"a.txt", "c.txt", "requirements.txt"} <= set(files)
    assert not {".env", "setup.log", "build/artifact"} & set(files)


@pytest.mark.slow
def test_a_failing_setup_fails_the_attempt_with_its_output(proj: Project, run_cli) -> None:
    policy(proj, "workspace:\n  setup:\n    - echo cannot install; exit 7\n")
    steps = [{"title": "A", "instruction": "a", "allowed_files": ["a.txt"]}]
    result = build(run_cli, proj, proj.plan(steps), proj.agent({"*": [{"write": {"a.txt": "a\n"}}]}))
    assert result.code == 1
    failed = [
        e for e in proj.events() if e.type is EventType.TASK_REJECTED or e.type is EventType.TASK_FAILED
    ]
    assert "workspace setup `echo cannot install; exit 7` exited with 7" in failed[0].summary
    prepared = [e for e in proj.events() if e.type is EventType.WORKSPACE_PREPARED]
    assert "cannot install" in prepared[0].data["commands"][0]["output"]


def test_env_values_expand_variables_and_resolve_relative_path_entries(tmp_path: Path) -> None:
    rules = {
        "PYTHONPATH": "src:/abs/lib",
        "PATH": "node_modules/.bin:$PATH",
        "NODE_ENV": "test",
        "CONFIG": "./conf/app.toml",
    }
    env = environment(rules, tmp_path, {"PATH": "/usr/bin"})
    assert env == {
        "PYTHONPATH": f"{tmp_path / 'src'}:/abs/lib",
        "PATH": f"{tmp_path / 'node_modules/.bin'}:/usr/bin",
        "NODE_ENV": "test",
        "CONFIG": str(tmp_path / "conf/app.toml"),
    }


def test_the_import_probe_cannot_be_fooled_by_a_module_the_agent_wrote(tmp_path: Path) -> None:
    checkout, worktree = tmp_path / "checkout", tmp_path / "checkout" / ".git" / "wt"
    for root in (checkout, worktree):
        (root / "src" / "calc").mkdir(parents=True)
        (root / "src" / "calc" / "__init__.py").write_text(CALC)
    # files that would stand in for the probe's own imports if the worktree came first
    (worktree / "importlib.py").write_text("raise SystemExit(0)\n")
    (worktree / "json.py").write_text("raise SystemExit(0)\n")
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(checkout / "src")}
    leak = import_leak(worktree, checkout, env)
    assert leak is not None and leak.origin == str((checkout / "src" / "calc" / "__init__.py").resolve())
    assert import_leak(worktree, checkout, {**env, "PYTHONPATH": str(worktree / "src")}) is None
