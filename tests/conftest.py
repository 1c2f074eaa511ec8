"""Shared fixtures: every test runs against real git repositories in a sealed environment.

The environment is set when this module is imported, before anything loads pygit2 (libgit2
reads the location of the global git config once), so no test sees the developer's config.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

_REAL_HOME = Path.home()
_SANDBOX = Path(tempfile.mkdtemp(prefix="conductor-tests-"))
(_SANDBOX / "home").mkdir()
(_SANDBOX / "home" / ".gitconfig").write_text(
    "[user]\n\tname = Test User\n\temail = test@example.com\n"
    "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
    encoding="utf-8",
)
os.environ.update(
    {
        "HOME": str(_SANDBOX / "home"),
        "XDG_CONFIG_HOME": str(_SANDBOX / "home" / ".config"),
        "XDG_CACHE_HOME": str(_SANDBOX / "home" / ".cache"),
        "XDG_STATE_HOME": str(_SANDBOX / "home" / ".local" / "state"),  # the fork worktrees
        # the key coordinators sign queue tasks with and workers check (docs/workers.md)
        "CONDUCTOR_QUEUE_KEY": "test-queue-key-0123456789abcdef",
        "GIT_CONFIG_NOSYSTEM": "1",
        # pre-commit builds hook environments with pip: reuse the real caches so the
        # framework tests do not download every wheel again.
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(_REAL_HOME / ".cache" / "pip")),
        "PRE_COMMIT_HOME": os.environ.get(
            "CONDUCTOR_TEST_PRE_COMMIT_HOME", str(_REAL_HOME / ".cache" / "conductor-tests-pre-commit")
        ),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
)
if sys.dont_write_bytecode:
    # PYTHONDONTWRITEBYTECODE keeps bytecode out of the source tree; without a cache every test
    # module's assertions are rewritten again in each worker and every `conductor` process a test
    # starts compiles the package again (0.3 s each). Keep the bytecode outside the tree instead.
    sys.pycache_prefix = str(_REAL_HOME / ".cache" / "conductor-tests-pycache")
    sys.dont_write_bytecode = False
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
for var in (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
):
    os.environ.pop(var, None)

if TYPE_CHECKING:
    from conductor.models.event import Event, EventType
    from tests.fakesigstore import FakeSigstore
    from tests.scenario import Project

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _no_sandbox() -> str | None:
    from conductor.sandbox import bwrap

    reason = bwrap.unavailable()
    if reason and os.environ.get("CONDUCTOR_TEST_REQUIRE_SANDBOX"):  # CI: the sandbox is part of the test
        raise RuntimeError(f"CONDUCTOR_TEST_REQUIRE_SANDBOX is set, but {reason}")
    return reason


NO_SANDBOX = _no_sandbox()
SANDBOX_MODES = [
    pytest.param(
        "auto", marks=pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")
    ),
    "off",
]
"""Run a test with bubblewrap (where it can run) and with the fallback."""


def event(
    kind: EventType,
    /,
    step: str | None = None,
    attempt: int | None = None,
    *,
    summary: str | None = None,
    plan: str = "p1",
    fork: str | None = "main",
    state: str | None = None,
    data: dict[str, object] | None = None,
    **fields: object,
) -> Event:
    """An event as Conductor would record it; `fields` are added to its data."""
    from conductor.models.event import Event

    return Event(
        kind,
        plan=plan,
        fork=fork,
        step=step,
        attempt=attempt,
        summary=kind.value if summary is None else summary,
        state=state,
        data={**(data or {}), **fields},
    )


def wait_until(condition: Callable[[], object], *, timeout: float = 30, what: str = "a condition") -> None:
    """Poll `condition` every 50 ms until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """True while process `pid` runs (a zombie, killed but not yet reaped, is not alive)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_with(marker: str) -> list[int]:
    """The running processes whose command line holds `marker` (zombies aside)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if marker in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def git(
    cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None, input: str | None = None
) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, input=input, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run `conductor ARGS` in-process through the real entry point; returns code/out/err."""
    from conductor.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_process(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> Result:
    """Run a command as a real process (for entry points, hooks and exit codes)."""
    proc = subprocess.run(
        list(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        input=input,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def free_port() -> int:
    """A local TCP port nothing listens on (a refused connection, for a server that is not running)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def conductor_bin(name: str = "conductor") -> str:
    return str(Path(PYTHON).parent / name)


def conductor_with(constants: dict[str, float], *setup: str) -> list[str]:
    """The command line that starts `conductor` (its arguments go after it) in a process whose
    module `constants` are set first — {"conductor.executors.handoff.SETTLE_SECONDS": 0.05} —
    and `setup` (lines of Python) run: for a test of what happens after a wait that it need not
    sit out in real time. A constant that is not there stops the process (exit 1, naming it)."""
    lines = ["import importlib, sys"]
    for name, value in constants.items():
        module, attribute = name.rsplit(".", 1)
        lines += [
            f"found = importlib.import_module({module!r})",
            f"if not hasattr(found, {attribute!r}): sys.exit('conductor_with: no constant {name}')",
            f"found.{attribute} = {value!r}",
        ]
    lines += [*setup, "from conductor.cli import main", "sys.exit(main(sys.argv[1:]))"]
    return [PYTHON, "-c", "\n".join(lines)]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty-ish git repository with one commit, as the current directory."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("# test repo\n", encoding="utf-8")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(root)
    yield root


_INITIALIZED: dict[str, Path] = {}
"""The projects `project` made in this process: "project" as init leaves it, "proj" with files."""


@pytest.fixture
def project(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    run_cli,
) -> Iterator[Path]:
    """A project made by `conductor init` — with `proj`'s files committed when the test asks for
    `proj` — as the current directory: made once per test process, and copied for each test."""
    kind = "proj" if "proj" in request.fixturenames else "project"
    root = tmp_path / "proj"
    shutil.copytree(_initialized(kind, tmp_path_factory, monkeypatch, run_cli), root, symlinks=True)
    monkeypatch.chdir(root)
    yield root


def _initialized(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: Callable[..., Result],
) -> Path:
    """The `kind` of project (see `project`) this process made, made now if it has none yet."""
    if kind not in _INITIALIZED:
        parent = tmp_path_factory.mktemp(kind)
        monkeypatch.chdir(parent)
        result = run_cli("init", "proj")
        assert result.code == 0, result.err
        if kind == "proj":
            monkeypatch.chdir(parent / "proj")
            _base_files(parent / "proj", run_cli)
        _INITIALIZED[kind] = parent / "proj"
    return _INITIALIZED[kind]


def assert_fsck_clean(repo: Path) -> None:
    """`git fsck --strict` finds nothing wrong (dangling objects from lost races are fine)."""
    proc = subprocess.run(
        ["git", "fsck", "--strict", "--no-dangling", "--no-progress"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    problems = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.startswith(("error", "warning", "missing", "broken", "bad"))
    ]
    assert problems == []


def _base_files(project: Path, run_cli: Callable[..., Result]) -> None:
    """Commit a few files to work on to the `conductor init` project `project` (the current directory)."""
    (project / "app.py").write_text("print('app')\n")
    (project / "poetry.lock").write_text("locked\n")
    (project / "migrations").mkdir()
    (project / "migrations" / "0001.py").write_text("up\n")
    (project / ".conductor" / "policy.yaml").unlink()  # init again: now migrations/* applies
    assert run_cli("init").code == 0
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base files")


@pytest.fixture
def proj(project: Path) -> Project:
    """A `conductor init` project with a few committed files to work on (see `project`), and a
    directory beside it for agent scripts."""
    from tests.scenario import Project

    scripts = project.parent / "scripts"
    scripts.mkdir()
    return Project(project, scripts)


_TEMPLATES: dict[str, Project] = {}
"""The projects `prebuilt` made in this process, by module and name."""


@pytest.fixture
def prebuilt(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, run_cli
) -> Callable[[str, Callable[[Project], None]], Project]:
    """`prebuilt(name, make)`: a copy of the project `make` built from a `proj` of its own, made
    once per test process and copied (repository, scripts and fork worktrees) to tmp_path/NAME
    for each test, as the current directory — for tests that start from the same built plan."""
    from tests.scenario import Project, copy_project

    def get(name: str, make: Callable[[Project], None]) -> Project:
        key = f"{make.__module__}:{name}"  # a name is one module's
        if key not in _TEMPLATES:
            parent = tmp_path_factory.mktemp(f"prebuilt-{name}")
            proj = _initialized("proj", tmp_path_factory, monkeypatch, run_cli)
            shutil.copytree(proj, parent / "proj", symlinks=True)
            monkeypatch.chdir(parent / "proj")
            template = Project(parent / "proj", parent / "scripts")
            template.scripts.mkdir()
            make(template)
            _TEMPLATES[key] = template
        copy = copy_project(_TEMPLATES[key], tmp_path / name)
        monkeypatch.chdir(copy.root)
        return copy

    return get


@pytest.fixture
def fake_sigstore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSigstore]:
    """A local Fulcio, Rekor and OIDC issuer (tests/fakesigstore), trusted through
    CONDUCTOR_TRUST_CONFIG."""
    from tests.fakesigstore import FakeSigstore

    with FakeSigstore(tmp_path / "sigstore") as instance:
        monkeypatch.setenv("CONDUCTOR_TRUST_CONFIG", str(instance.trust_config_path))
        yield instance
