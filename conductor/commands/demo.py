"""`conductor demo`: the whole loop in a throwaway project, offline.

It creates a project with `conductor init`, then runs `conductor build` on a two-step plan
through the command executor, with a SCRIPTED agent (fixtures/agents/scripted.py) standing
in for an AI agent: step 1 is accepted; step 2's first attempt also writes a protected file,
is rejected and repaired. Then it shows status, explain, the guard refusing a human commit to
a protected file, and the git commands to look at everything. All of it is the real thing
except the agent, which follows a script instead of a model.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from conductor.commands import build as build_command
from conductor.commands import explain as explain_command
from conductor.commands import hooks as hooks_command
from conductor.commands import init as init_command
from conductor.commands import status as status_command
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.runner import metrics


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


def _fixture(name: str) -> Path:
    return Path(str(importlib.resources.files("conductor._fixtures").joinpath(name)))


def _git(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=False)


def run(*, keep: bool, directory: str | None) -> int:
    parent = Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="conductor-demo-"))
    parent.mkdir(parents=True, exist_ok=True)
    root = parent / "greeting-project"
    agent = _fixture("agents/scripted.py")
    script = _fixture("scripts/demo.json")
    click.secho("Conductor demo: offline, in a throwaway project. All real except the agent:", bold=True)
    click.echo(
        "a SCRIPTED agent (fixtures/agents/scripted.py) stands in for an AI agent. It follows the same\n"
        "file contract as Antigravity or a CLI agent, but every move it makes is written in its script."
    )

    _section(f"conductor init {root.name}")
    result = init_command.new_project(str(root))
    click.echo(f"Created a git repository with {', '.join(result.written)} and a first commit.")
    click.echo("The policy protects '*.lock' and 'migrations/*' (see `conductor policy`).")
    plan_file = root / "plan.yaml"
    shutil.copyfile(_fixture("plans/demo.yaml"), plan_file)
    env = {**os.environ, **(init_command.FALLBACK_IDENTITY if not init_command.has_identity(root) else {})}
    _git(root, "add", "plan.yaml", env=env)
    _git(root, "commit", "--quiet", "-m", "Add the demo plan", env=env)
    for key, value in env.items():  # the scripted agent's commits need an identity too
        os.environ.setdefault(key, value)

    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(agent))} {shlex.quote(str(script))}"
    _section("conductor build --plan plan.yaml --exec '<scripted agent>' --yes")
    click.echo("Step 1 writes greet.py. Step 2's first attempt also writes requirements.lock (protected):")
    click.echo("Conductor rejects it, keeps the patch as evidence, resets the worktree and hands out")
    click.echo("attempt 2 with the failure in its context; the agent repairs it.\n")
    with _chdir(root):
        sys.stderr.flush()
        outcome = build_command.run(
            None, plan_file="plan.yaml", executor_name="command", command=command, yes=True
        )
        sys.stderr.flush()
        click.echo(build_command.render(outcome))
        ledger = Ledger(root)

        _section("conductor status")
        click.echo(status_command.render(status_command.collect(ledger)))

        _section("conductor explain step_002")
        click.echo(explain_command.render(explain_command.explain("step_002", plan=outcome.plan)))

        _section("conductor handoff-metrics")
        click.echo(metrics.render(metrics.compute(ledger)))

        _section("The guard: a human commit to a protected file is refused too")
        hooks_command.install(["pre-commit"], force=False)
        (root / "poetry.lock").write_text("# pinned versions\n", encoding="utf-8")
        _git(root, "add", "poetry.lock", env=env)
        refused = _git(root, "commit", "-m", "Pin dependencies", env=env)
        click.echo("$ conductor hooks install && git add poetry.lock && git commit -m 'Pin dependencies'")
        click.echo(refused.stderr.rstrip())
        click.echo(f"(exit code {refused.returncode}: the commit was refused)")
        _git(root, "rm", "--cached", "--quiet", "poetry.lock", env=env)
        (root / "poetry.lock").unlink()

    branch = refs.short_branch(outcome.plan, "main")
    _section("Look for yourself" + ("" if keep or directory else " (run `conductor demo --keep` first)"))
    click.echo(f"  cd {root}")
    click.echo(f"  git log --stat {branch}                       the accepted steps, one commit each")
    click.echo(f"  git log --format='%s%n%(trailers)' {refs.fork_log(outcome.plan, 'main')}")
    click.echo(f"  git show {refs.fork_log(outcome.plan, 'main')}:evidence/step_002/attempt_1/rejected.patch")
    click.echo(f"  conductor events --plan {outcome.plan}")
    click.echo("  conductor explain step_001")
    if keep or directory:
        click.echo(f"\nThe demo project is kept at {root}.")
    else:
        shutil.rmtree(parent, ignore_errors=True)
        click.echo("\n(The demo project was temporary and has been removed; use --keep to keep it.)")
    ok = outcome.state == "completed" and refused.returncode != 0
    return 0 if ok else 1
