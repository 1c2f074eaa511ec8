"""A worktree made self-sufficient (docs/policy.md, "Workspace"): files copied from the checkout,
setup commands run before its first step and again when their inputs change, the environment
its commands run with — and the check that verify commands test the worktree's code, not the
user's checkout.

What the copies and the setup leave in the worktree (a venv, node_modules, .env) belongs to
the workspace: it is listed in the worktree's admin directory and never counted as a change.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pathspec

from conductor.checks.evidence import CommandEvidence, run_command
from conductor.gitcli import git
from conductor.models.paths import escape_reason
from conductor.policy.effective import EffectivePolicy
from conductor.sandbox.confinement import Confinement
from conductor.sandbox.gitview import SCRATCH_FILE

MARKER = "conductor-workspace.json"
PATH_NAMES = re.compile(r"(PATH|_DIR|_HOME|_FILE)$")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")
PROBE_TIMEOUT = 20.0


def environment(rules: Mapping[str, str], worktree: Path, base: Mapping[str, str]) -> dict[str, str]:
    """`workspace.env` as the commands get it: `$NAME` from `base`; relative entries of path
    variables (and values starting with ./) resolved against the worktree."""
    out: dict[str, str] = {}
    for name, raw in rules.items():
        value = _VARIABLE.sub(lambda m: base.get(m.group(1) or m.group(2), ""), raw)
        if PATH_NAMES.search(name) or raw.startswith("./"):
            parts = [p if not p or os.path.isabs(p) else str(worktree / p) for p in value.split(os.pathsep)]
            value = os.pathsep.join(part for part in parts if part)
        out[name] = value
    return out


def admin_dir(worktree: Path) -> Path | None:
    """The worktree's private git directory (.git/worktrees/<name>), from its .git file."""
    try:
        text = (worktree / ".git").read_text(encoding="utf-8")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    found = Path(text.split(":", 1)[1].strip())
    return found if found.is_absolute() else (worktree / found).resolve()


def prepared_paths(worktree: Path) -> list[str]:
    """What the copies and setup left in the worktree: directories end with '/'."""
    admin = admin_dir(worktree)
    return recorded(admin / MARKER) if admin is not None else []


def declare_scratch(worktree: Path, patterns: Sequence[str]) -> None:
    """Say which files of the worktree are the executor's scratch (an agent's chat history):
    gitignore patterns, kept in the worktree's admin directory, never in the user's files."""
    admin = admin_dir(worktree)
    if admin is None:
        return
    marker = admin / SCRATCH_FILE
    text = "".join(f"{pattern}\n" for pattern in patterns)
    try:
        if marker.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    if text:
        marker.write_text(text, encoding="utf-8")
    else:
        marker.unlink(missing_ok=True)


def scratch(worktree: Path) -> pathspec.GitIgnoreSpec | None:
    """The executor's scratch files of the worktree, as declared (None: none declared)."""
    admin = admin_dir(worktree)
    try:
        lines = (admin / SCRATCH_FILE).read_text(encoding="utf-8").splitlines() if admin else []
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def is_prepared(path: str, prepared: list[str]) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in prepared)


@dataclass
class Prepared:
    """What preparing a worktree did."""

    reason: str
    copied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commands: list[CommandEvidence] = field(default_factory=list)

    @property
    def failed(self) -> CommandEvidence | None:
        return next((c for c in self.commands if not c.passed), None)


class Spot(Protocol):
    """Where a workspace is prepared: a worktree, or a layered worktree's workspace layer."""

    def marker(self) -> Path | None:
        """The record of what was prepared, MARKER (None: nowhere to keep one)."""
        ...

    def read(self, name: str) -> bytes | None:
        """A setup input as the workspace has it (None: none)."""
        ...

    def holds(self, name: str) -> bool:
        """Whether the workspace has `name` already (a tracked file: not copied over)."""
        ...

    def place(self, name: str) -> Path:
        """Where a copy of `name` goes."""
        ...

    def extra(self) -> set[str]:
        """What in the workspace is not the fork's files now (directories end with '/')."""
        ...


class WorktreeSpot:
    """A git worktree prepared in place: what is untracked after the setup is the workspace's."""

    def __init__(self, worktree: Path) -> None:
        self.worktree = worktree

    def marker(self) -> Path | None:
        admin = admin_dir(self.worktree)
        return admin / MARKER if admin is not None else None

    def read(self, name: str) -> bytes | None:
        path = self.worktree / name
        return path.read_bytes() if path.is_file() else None

    def holds(self, name: str) -> bool:
        return (self.worktree / name).exists()

    def place(self, name: str) -> Path:
        return self.worktree / name

    def extra(self) -> set[str]:
        out = git(
            ["status", "--porcelain", "-z", "--untracked-files=normal", "--ignored=no"], cwd=self.worktree
        )
        return {
            line[3:] for line in out.decode("utf-8", "surrogateescape").split("\0") if line.startswith("??")
        }


def _digest(spot: Spot, policy: EffectivePolicy) -> str:
    body = hashlib.sha256()
    for item in (*policy.items("workspace.setup"), *policy.items("workspace.copy")):
        body.update(f"cmd {item}\0".encode())
    for name in policy.items("workspace.setup_inputs"):
        found = spot.read(name) if escape_reason(name) is None else None
        content = b"(none)" if found is None else found
        body.update(f"in {name}\0".encode() + hashlib.sha256(content).digest())
    return "sha256:" + body.hexdigest()


def recorded(marker: Path) -> list[str]:
    """The paths a MARKER says the copies and setup left (directories end with '/')."""
    try:
        return [str(p) for p in json.loads(marker.read_text(encoding="utf-8")).get("paths", [])]
    except (OSError, ValueError, AttributeError):
        return []


def prepare(
    spot: Spot, cwd: Path, repo_root: Path, policy: EffectivePolicy, confinement: Confinement, timeout: float
) -> Prepared | None:
    """Copy and set up the workspace when it is new or a setup input changed (its setup commands
    run in `cwd` under `confinement`); None: nothing to do."""
    setup, copies = policy.items("workspace.setup"), policy.items("workspace.copy")
    marker = spot.marker()
    if not (setup or copies) or marker is None:
        return None
    digest = _digest(spot, policy)
    previous: dict[str, Any] = {}
    if marker.is_file():
        try:
            previous = json.loads(marker.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
        if previous.get("digest") == digest:
            return None
    prepared = Prepared("new worktree" if not previous else "a setup input changed")
    before = spot.extra()
    for name in copies:
        prepared.notes += _copy(name, repo_root, spot, prepared.copied)
    for command in setup:
        prepared.commands.append(run_command(command, cwd=cwd, timeout=timeout, confinement=confinement))
        if not prepared.commands[-1].passed:
            break
    paths = {str(p) for p in previous.get("paths") or []} | (spot.extra() - before)
    paths |= set(prepared.copied)
    record = {"digest": None if prepared.failed else digest, "paths": sorted(paths)}
    marker.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return prepared


def _copy(name: str, repo_root: Path, spot: Spot, copied: list[str]) -> list[str]:
    reason = escape_reason(name)
    if reason:
        return [f"workspace.copy: '{name}' {reason}; not copied"]
    source, target = repo_root / name, spot.place(name)
    if not source.exists():
        return [f"workspace.copy: '{name}' is not in your checkout; not copied"]
    if spot.holds(name):
        return [f"workspace.copy: '{name}' is already in the worktree (tracked?); left as it is"]
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
        copied.append(name.rstrip("/") + "/")
    else:
        shutil.copy2(source, target, follow_symlinks=False)
        copied.append(name)
    return []


# Runs in the worktree, whose files an agent wrote: the worktree leaves sys.path while the
# probe imports what it needs, so no file there can stand in for those modules; find_spec then
# locates each package as `python -m …` there would, without running it.
PROBE = """
import sys
here = sys.path.pop(0)
import importlib.util, os
sys.path.insert(0, here)
for name in sys.argv[1:]:
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        continue
    if spec is None:
        continue
    origin = spec.origin if spec.origin not in (None, "namespace") else None
    if origin is None and spec.submodule_search_locations:
        origin = list(spec.submodule_search_locations)[0]
    if origin:
        print(name + "\\t" + os.path.realpath(origin))
"""


def python_packages(worktree: Path) -> list[str]:
    """The top-level Python packages and modules the worktree holds (at its root and in src/)."""
    names: list[str] = []
    for folder in (worktree, worktree / "src"):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith((".", "_")) or (not entry.name.isidentifier() and entry.suffix != ".py"):
                continue
            if entry.is_dir() and (entry / "__init__.py").is_file():
                names.append(entry.name)
            elif folder.name == "src" and entry.suffix == ".py" and entry.stem.isidentifier():
                names.append(entry.stem)
    return names[:50]


@dataclass(frozen=True)
class Leak:
    module: str
    origin: str

    def reason(self) -> str:
        return (
            f"verify commands would test your checkout, not the worktree: `import {self.module}`"
            f" resolves to {self.origin} (an editable install or PYTHONPATH of your environment)"
        )


LEAK_HINT = (
    "make the worktree's code the one imported: workspace.env: {PYTHONPATH: src} (src layout), or"
    " workspace.setup: [python -m venv .venv, .venv/bin/pip install -e .] with verify commands that"
    " use .venv/bin/python — in .conductor/policy.yaml (docs/policy.md, Workspace)"
)


def import_leak(worktree: Path, repo_root: Path, env: Mapping[str, str]) -> Leak | None:
    """A package of the worktree that Python, run in it with `env`, would import from the user's
    checkout instead — or None. (Under the sandbox the checkout is hidden: no probe needed.)"""
    names = python_packages(worktree)
    python = shutil.which("python", path=env.get("PATH")) or shutil.which("python3", path=env.get("PATH"))
    if not names or python is None:
        return None
    try:
        proc = subprocess.run(
            [python, "-c", PROBE, *names],
            cwd=worktree,
            env=dict(env),
            capture_output=True,
            timeout=PROBE_TIMEOUT,
            check=False,
            start_new_session=True,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    found = dict(line.split("\t", 1) for line in lines if line.count("\t") == 1)
    checkout, work, git_dir = repo_root.resolve(), worktree.resolve(), (repo_root / ".git").resolve()
    for module, origin in sorted(found.items()):
        where = Path(origin)
        if (
            where.is_relative_to(checkout)
            and not where.is_relative_to(work)
            and not where.is_relative_to(git_dir)
        ):
            return Leak(module, origin)
    return None
