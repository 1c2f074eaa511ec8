"""`conductor demo`: what Conductor does, shown in a throwaway project, offline.

Creates a project with `conductor init`, shows the effective policy, records a plan, a fork
and a task in the ledger and prints the events, then installs the guard hook and shows it
refusing a commit that touches a protected file. Everything it runs is the real thing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from conductor.commands import events as events_command
from conductor.commands import hooks as hooks_command
from conductor.commands import init as init_command
from conductor.commands import policy as policy_command
from conductor.commands import status as status_command
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.confidence import Confidence
from conductor.models.event import Event, EventType
from conductor.models.task import TaskContext, TaskFile
from conductor.policy.project import effective

PLAN = "demo-hello"
FORK = "main"


def _section(title: str) -> None:
    click.echo()
    click.secho(f"== {title}", bold=True)


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _record_plan(ledger: Ledger, root: Path) -> None:
    """Record a plan with one fork and one task, as `conductor build` does."""
    policy = effective(root)
    base = str(ledger.repo.head.target)
    plan = {"id": PLAN, "goal": "Create a hello.py that greets the world", "base": base}
    ledger.append(
        refs.plan_log(PLAN),
        Event(EventType.PLAN_CREATED, plan=PLAN, summary=plan["goal"], state="running"),
        {
            "plan.json": json.dumps(plan, indent=2) + "\n",
            "policy.json": json.dumps(policy.to_json(), indent=2) + "\n",
        },
    )
    ledger.append(
        refs.fork_log(PLAN, FORK),
        Event(EventType.FORK_CREATED, plan=PLAN, fork=FORK, summary="single strategy", state="running"),
    )
    task = TaskFile(
        task_id="step_001",
        instruction="Create hello.py that prints 'Hello, world!'.",
        allowed_files=["hello.py"],
        constraints=[*policy.global_constraints, "Do NOT modify files outside allowed_files"],
        timeout_seconds=policy.timeout_seconds,
        confidence=Confidence.of(0.89),
        workspace=str(root),
        context=TaskContext(goal=plan["goal"], plan_id=PLAN, fork_id=FORK),
    ).sealed()
    ledger.append(
        refs.fork_log(PLAN, FORK),
        Event(
            EventType.TASK_CREATED,
            plan=PLAN,
            fork=FORK,
            step="step_001",
            attempt=1,
            summary="Create hello.py",
            state="running",
            data={"checksum": task.checksum},
        ),
        {"pending/step_001.task.json": task.to_json()},
    )
    ledger.append(
        refs.fork_log(PLAN, FORK),
        Event(
            EventType.TASK_CLAIMED,
            plan=PLAN,
            fork=FORK,
            step="step_001",
            attempt=1,
            summary="claimed by the demo",
            state="running",
            data={"worker": "demo"},
        ),
        lambda snap: {
            "pending/step_001.task.json": None,
            "in_progress/step_001.task.json": snap.read("pending/step_001.task.json") if snap else None,
        },
    )


def _git(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=False)


def run(*, keep: bool, directory: str | None) -> int:
    parent = Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="conductor-demo-"))
    parent.mkdir(parents=True, exist_ok=True)
    root = parent / "hello-project"
    click.secho("Conductor demo: everything below runs for real, offline, in a throwaway project.", bold=True)

    _section(f"conductor init {root}")
    result = init_command.new_project(str(root))
    click.echo(f"Created a git repository with {', '.join(result.written)} and a first commit.")

    with _chdir(root):
        _section("conductor policy   (the effective policy, each value with its origin)")
        found_root, policy = policy_command.show()
        click.echo(policy_command.render(found_root, policy))

        _section("Recording a plan in the ledger (refs/conductor/*)")
        ledger = Ledger(root)
        _record_plan(ledger, root)
        click.echo("conductor events --oldest-first:")
        events_command.write(events_command.select(ledger, oldest_first=True), as_json=False)
        click.echo()
        click.echo("conductor status:")
        click.echo(status_command.render(status_command.collect(ledger)))

        _section("The guard: a commit to a protected file is refused")
        hooks_command.install(["pre-commit"], force=False)
        click.echo("conductor hooks install  -> .git/hooks/pre-commit")
        env = {
            **os.environ,
            **(init_command.FALLBACK_IDENTITY if not init_command.has_identity(root) else {}),
        }
        (root / "poetry.lock").write_text("# pinned versions\n", encoding="utf-8")
        _git(root, "add", "poetry.lock", env=env)
        refused = _git(root, "commit", "-m", "Pin dependencies", env=env)
        click.echo("$ git add poetry.lock && git commit -m 'Pin dependencies'")
        click.echo(refused.stderr.rstrip())
        click.echo(f"(exit code {refused.returncode}: the commit was refused)")
        _git(root, "rm", "--cached", "--quiet", "poetry.lock", env=env)
        (root / "hello.py").write_text("print('Hello, world!')\n", encoding="utf-8")
        _git(root, "add", "hello.py", env=env)
        accepted = _git(root, "commit", "--quiet", "-m", "Add hello.py", env=env)
        click.echo("$ git add hello.py && git commit -m 'Add hello.py'")
        click.echo(f"(exit code {accepted.returncode}: hello.py is not protected, so the commit went in)")

    _section("Look for yourself" + ("" if keep or directory else " (run `conductor demo --keep` first)"))
    click.echo(f"  git -C {root} log --format='%s%n%(trailers)' {refs.fork_log(PLAN, FORK)}")
    click.echo(f"  git -C {root} show {refs.fork_log(PLAN, FORK)}:in_progress/step_001.task.json")
    click.echo(f"  conductor -C {root} events --json")
    if keep or directory:
        click.echo(f"\nThe demo project is kept at {root}.")
    else:
        shutil.rmtree(parent, ignore_errors=True)
        click.echo("\n(The demo project was temporary and has been removed; use --keep to keep it.)")
    return 0 if refused.returncode != 0 and accepted.returncode == 0 else 1
