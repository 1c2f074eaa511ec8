"""Scenarios for running plans for real: a project, a plan file, a scripted agent, the CLI."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conductor.engine.state import ForkState
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event
from tests.conftest import PYTHON, ROOT, Result, git

AGENT = ROOT / "conductor" / "resources" / "fixtures" / "agents" / "scripted.py"

HELLO_STEPS = [
    {
        "title": "Create hello.py",
        "instruction": "Create hello.py",
        "allowed_files": ["hello.py"],
        "verify": [f"{PYTHON} -c 'import hello'"],
    },
    {
        "title": "Test hello.py",
        "instruction": "Add test_hello.py",
        "allowed_files": ["test_hello.py"],
        "verify": [f"{PYTHON} test_hello.py"],
    },
]
"""Two steps: a module, then its test (both verified)."""


@dataclass
class Project:
    root: Path
    scripts: Path

    def plan(
        self,
        steps: list[dict[str, Any]],
        *,
        policy: dict[str, Any] | None = None,
        goal: str = "test goal",
        name: str = "plan.yaml",
    ) -> str:
        data: dict[str, Any] = {"goal": goal, "steps": steps}
        if policy:
            data["policy"] = policy
        path = self.root / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        git(self.root, "add", name)
        git(self.root, "commit", "-q", "-m", f"add {name}")
        return name

    def agent(self, script: dict[str, Any], name: str = "script.json") -> str:
        path = self.scripts / name
        path.write_text(json.dumps(script))
        return f"{shlex.quote(PYTHON)} {shlex.quote(str(AGENT))} {shlex.quote(str(path))}"

    def sandbox(self, mode: str) -> None:
        """Set the project's `sandbox.mode` (auto | required | off) and commit the policy."""
        policy = self.root / ".conductor" / "policy.yaml"
        policy.write_text(policy.read_text() + f"\nsandbox:\n  mode: {mode}\n")
        git(self.root, "commit", "-q", "-am", f"sandbox: {mode}")

    def ledger(self) -> Ledger:
        return Ledger(self.root)

    def only_plan(self) -> str:
        (plan,) = self.ledger().plans()
        return plan

    def events(self, plan: str | None = None, fork: str = "main") -> list[Event]:
        plan = plan or self.only_plan()
        return list(self.ledger().log(refs.fork_log(plan, fork), newest_first=False))

    def state(self, plan: str | None = None, fork: str = "main") -> ForkState:
        plan = plan or self.only_plan()
        return ForkState.replay(plan, fork, self.events(plan, fork))

    def branch(self, plan: str | None = None, fork: str = "main") -> str:
        return f"conductor/{plan or self.only_plan()}/{fork}"

    def worktree(self, plan: str | None = None, fork: str = "main") -> Path:
        """Where the fork's worktree is (outside the repository: docs/storage.md)."""
        from conductor.project import private_state
        from conductor.runner.place.worktree import Worktree

        state = private_state(self.root, self.root / ".git")
        return Worktree.location(state, plan or self.only_plan(), fork)

    def record(self, path: str, plan: str | None = None, fork: str = "main") -> str:
        return git(self.root, "show", f"{refs.fork_log(plan or self.only_plan(), fork)}:{path}")


def copy_project(source: Project, parent: Path) -> Project:
    """`source` copied to `parent`/proj (and its scripts to `parent`/scripts) with its fork
    worktrees, which move to where Conductor keeps the copy's and are repaired to point at it."""
    from conductor.project import private_state

    copy = Project(parent / "proj", parent / "scripts")
    shutil.copytree(source.root, copy.root, symlinks=True)
    shutil.copytree(source.scripts, copy.scripts, symlinks=True)
    state = private_state(source.root, source.root / ".git")
    if state.exists():
        moved = private_state(copy.root, copy.root / ".git")
        shutil.copytree(state, moved, symlinks=True)
        for link in moved.glob("worktrees/*/*/.git"):  # each names its entry in .git/worktrees/
            entry = copy.root / ".git" / "worktrees" / Path(link.read_text().split(":", 1)[1].strip()).name
            link.write_text(f"gitdir: {entry}\n")
            (entry / "gitdir").write_text(f"{link}\n")
    return copy


def build(run_cli: Callable[..., Result], project: Project, plan: str, command: str, *extra: str) -> Result:
    return run_cli("build", "--plan", plan, "--exec", command, "--yes", *extra)


def build_until_started(project: Project, plan: str, script: dict[str, Any]) -> subprocess.Popen[bytes]:
    """`conductor build --plan PLAN` with the scripted agent, in a process of its own, returned
    once the agent has begun: the script's first attempt must create the marker `started` in
    the worktree (`{"marker": "started"}`) and then keep working (a long sleep)."""
    from tests.conftest import conductor_bin, wait_until

    command = project.agent(script)
    proc = subprocess.Popen(
        [conductor_bin(), "build", "--plan", plan, "--exec", command, "--yes"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    started = lambda: bool(project.ledger().plans()) and (project.worktree() / "started").exists()  # noqa: E731
    wait_until(started, timeout=60, what="the agent to start")
    return proc


def _written(name: str, instruction: str) -> dict[str, Any]:
    """A step that writes `name`, verified by opening it (evidence a comparison can go by)."""
    verify = f"{PYTHON} -c 'open(\"{name}\")'"
    return {"title": f"Write {name}", "instruction": instruction, "allowed_files": [name], "verify": [verify]}


TWO_FORKS: dict[str, Any] = {
    # two strategies of one goal, for comparing and reviewing forks; each step verified, so the
    # comparison has evidence to recommend by (the long fork: 2/2 verify commands passed)
    "goal": "Write notes",
    "forks": [
        {"id": "short", "strategy": "short notes", "steps": [_written("notes.md", "Write notes")]},
        {
            "id": "long",
            "strategy": "long notes",
            "steps": [_written("notes.md", "Write notes"), _written("more.md", "Write more")],
        },
    ],
}
