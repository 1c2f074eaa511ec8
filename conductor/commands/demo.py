"""`conductor demo`: the main job, offline — `conductor explore "Create a Python CLI task manager"`.

Everything is the real thing — the planner, three forks run in parallel, the llm executor,
verification with pytest, the policy rejecting a protected file and the repair, the comparison,
a replay from the recordings, the guard hook — except the model. Its answers are SCRIPTED
(conductor/resources/fixtures/scripts/demo_llm.json), served by a local stand-in for the Gemini
API (conductor/llm/fake.py) to the real google-genai SDK. Say so, loudly: nothing here is an AI.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from conductor import resources
from conductor.commands.output import verification
from conductor.commands.output.explanation import ExplanationReport
from conductor.commands.output.forks import ExplorationReport
from conductor.commands.output.replays import ReplayReport
from conductor.errors import ConductorError
from conductor.gitcli import git, git_text
from conductor.ledger import refs
from conductor.ledger.identity import who_commits
from conductor.ledger.store import Ledger
from conductor.models.layout import COMPLETED, RESULT, StepPaths
from conductor.provenance.attestation import Options
from conductor.provenance.verifier import verify_plan
from conductor.report import Report
from conductor.runner.install import hooks, setup
from conductor.runner.plan.explore import explore
from conductor.runner.plan.launch import Launch
from conductor.runner.plan.replay import replay
from conductor.runner.publish import prbody, pullrequest
from conductor.runner.views.explanation import explain

GOAL = "Create a Python CLI task manager"
NO_PYTEST_PLUGINS = """
workspace:
  env:  # the demo's tests use no pytest plugin: load none of those installed beside Conductor
    PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1'
"""


def _section(title: str) -> None:
    click.echo()
    click.secho(f"== {title}", bold=True)


@contextlib.contextmanager
def _environment(root: Path, updates: dict[str, str]) -> Iterator[None]:
    """Run in `root` with `updates` in the environment; put everything back afterwards."""
    before_cwd, before_env = Path.cwd(), dict(os.environ)
    os.chdir(root)
    os.environ.update(updates)
    try:
        yield
    finally:
        os.chdir(before_cwd)
        os.environ.clear()
        os.environ.update(before_env)


def _flip_a_byte(data: bytes) -> bytes:
    """A change no one would notice by eye: one digit of the result record's summary."""
    at = next((i for i, c in enumerate(data) if chr(c).isdigit()), len(data) // 2)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def _without_pytest_plugins(root: Path, identity: dict[str, str]) -> None:
    """The demo's verify commands run this Python's pytest, which would load every plugin
    installed beside Conductor (a second a run in a development environment, for nothing): its
    first commit's policy says not to, through `workspace.env`."""
    policy = root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + NO_PYTEST_PLUGINS, encoding="utf-8")
    git(
        ["commit", "--quiet", "--no-verify", "--amend", "--no-edit", "--", str(policy)],
        cwd=root,
        env=identity,
    )


def rewrite_record(root: Path, ref: str, path: str, change: Callable[[bytes], bytes | None]) -> str:
    """Tamper as someone with write access to the repository would: replace the tip of `ref` by
    a commit with the same parent and message in which `path` holds `change(old)` (None deletes
    it); the log keeps its length and numbering. Returns the old tip (to put it back)."""
    tip = git_text(["rev-parse", ref], cwd=root)
    old = subprocess.run(
        ["git", "cat-file", "blob", f"{tip}:{path}"], cwd=root, capture_output=True, check=False
    )
    new = change(old.stdout if old.returncode == 0 else b"")
    with tempfile.TemporaryDirectory() as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git(["read-tree", tip], cwd=root, env=index)
        if new is None:
            git(["update-index", "--force-remove", path], cwd=root, env=index)
        else:
            blob = git_text(["hash-object", "-w", "--stdin"], cwd=root, stdin=new)
            git(["update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], cwd=root, env=index)
        tree = git_text(["write-tree"], cwd=root, env=index)
    message = git(["cat-file", "commit", tip], cwd=root).split(b"\n\n", 1)[1]
    git(
        ["update-ref", ref, git_text(["commit-tree", tree, "-p", f"{tip}^"], cwd=root, stdin=message)],
        cwd=root,
    )
    return tip


def run(*, keep: bool, directory: str | None) -> DemoReport:
    from conductor.llm.fake import FakeModelServer

    parent = Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="conductor-demo-"))
    parent.mkdir(parents=True, exist_ok=True)
    root = parent / "task-manager"
    scripted: dict[str, Any] = json.loads(resources.text("fixtures/scripts/demo_llm.json"))
    click.secho("Conductor demo: offline, in a throwaway project. All real except the model:", bold=True)
    click.echo(
        "its answers are SCRIPTED (conductor/resources/fixtures/scripts/demo_llm.json), served by a\n"
        "local stand-in for the Gemini API to the real google-genai SDK. With GEMINI_API_KEY set, the\n"
        "same commands run live."
    )

    _section(f"conductor init {root.name}")
    result = setup.new_project(str(root))
    click.echo(f"Created a git repository with {', '.join(result.written)} and a first commit.")
    click.echo("Its policy protects '*.lock' (and Conductor's own files); see `conductor policy`.")
    identity = who_commits(root).git_env()  # every command of the demo commits as `init` did
    _without_pytest_plugins(root, identity)

    with FakeModelServer(scripted["replies"]) as model:
        env = {
            **identity,
            "GEMINI_API_KEY": "scripted-demo-not-a-key",
            "GOOGLE_GEMINI_BASE_URL": model.url,
            # verify commands say `python3 -m pytest`: this Python, which has pytest
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        with _environment(root, env):
            _section(f'conductor explore "{GOAL}" --forks 3 --yes')
            sys.stderr.flush()
            explored = explore(
                GOAL, forks=3, strategies=[], plan_file=None, jobs=3, spawn=False, launch=Launch(yes=True)
            )
            sys.stderr.flush()
            click.echo(ExplorationReport(explored).render())
            plan = explored.run.plan

            _section("conductor explain step_001 --fork sqlite   (the policy rejection and the repair)")
            click.echo(ExplanationReport(explain("step_001", plan=plan, fork="sqlite")).render())
            if explored.recommended is None:
                _section("conductor explain step_001 --fork json-file   (why this fork failed too)")
                click.echo(ExplanationReport(explain("step_001", plan=plan, fork="json-file")).render())
                raise ConductorError(
                    f"the demo's plan completed no fork (scripted answers that pass offline): every"
                    f" fork failed on this machine; the project is kept at {root} to look into",
                    hint=f"cd {root} && conductor explain step_001 --fork json-file --plan {plan}; the"
                    " verify command is `python3 -m pytest`, run in the sandbox (docs/security.md)",
                )

    best = explored.recommended or "json-file"
    with _environment(root, {**identity, "PATH": env["PATH"]}):
        _section(f"conductor replay {plan} --verify   (no network, no key: the recorded answers)")
        replayed = replay(plan)
        click.echo(ReplayReport(replayed).render())

        _section(f"conductor verify {plan}   (provenance of every accepted step, offline)")
        verified = verify_plan(Ledger(root), plan, options=Options())
        click.echo(verification.text(verified))

        record = StepPaths("step_001").record(COMPLETED, RESULT)
        _section(f"...and after one byte of {record} is changed in the {best} fork's log")
        original = rewrite_record(root, refs.fork_log(plan, best), record, _flip_a_byte)
        tampered = verify_plan(Ledger(root), plan, fork=best, options=Options())
        click.echo("\n".join(line for line in verification.text(tampered).splitlines() if "ok  " not in line))
        _git(root, "update-ref", refs.fork_log(plan, best), original)
        click.echo("(the demo puts the record back)")

        _section("The guard: a human commit to a protected file is refused too")
        hooks.install(["pre-commit"], force=False)
        (root / "poetry.lock").write_text("# pinned versions\n", encoding="utf-8")
        _git(root, "add", "poetry.lock")
        refused = _git(root, "commit", "-m", "Pin dependencies")
        click.echo("$ conductor hooks install && git add poetry.lock && git commit -m 'Pin dependencies'")
        click.echo(refused.stderr.rstrip())
        _git(root, "rm", "--cached", "--quiet", "poetry.lock")
        (root / "poetry.lock").unlink()

        _section(f"conductor pr {plan}   (offline: the pull request a reviewer would get, not sent)")
        fork, summaries, why = pullrequest.choose_fork(Ledger(root), plan, None)
        body = prbody.render(pullrequest.gather(Ledger(root), plan, fork, summaries, why))
        click.echo(body.rstrip())

    ok = (
        explored.recommended is not None
        and replayed.identical
        and verified.ok
        and not tampered.ok
        and refused.returncode != 0
    )
    kept = keep or directory is not None
    if not kept:
        shutil.rmtree(parent, ignore_errors=True)
    return DemoReport(root=root, plan=plan, best=best, kept=kept, ok=ok)


@dataclass
class DemoReport(Report):
    """Where to look afterwards; exit 1 when any part of the demo did not do what it shows."""

    root: Path
    plan: str
    best: str
    kept: bool
    ok: bool

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "plan": self.plan,
            "recommended": self.best,
            "kept": self.kept,
            "ok": self.ok,
        }

    def render(self) -> str:
        plan, best, root = self.plan, self.best, self.root
        first = StepPaths("step_001").attempt(1)
        lines = [
            "",
            "== Look for yourself" + ("" if self.kept else " (run `conductor demo --keep` first)"),
            f"  cd {root}",
            f"  git log --stat {refs.short_branch(plan, best)}"
            "          the recommended fork, a commit per step",
            f"  git log --format='%s%n%(trailers)' {refs.fork_log(plan, 'sqlite')}",
            f"  git show {refs.fork_log(plan, 'sqlite')}:{first.patch}",
            f"  git show {refs.fork_log(plan, best)}:{first.llm}/001.json   a recorded model call",
            f"  conductor events --plan {plan}",
            f"  conductor verify {plan} --json",
            "  conductor status; conductor handoff-metrics",
        ]
        if self.kept:
            lines.append(f"\nThe demo project is kept at {root}.")
        else:
            lines.append("\n(The demo project was temporary and has been removed; use --keep to keep it.)")
        return "\n".join(lines)
