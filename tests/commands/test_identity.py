"""No silent identities: without a git identity, the first command that commits says (on stderr,
once) which identity Conductor commits as and how to set one; never when there is one, never
on stdout, never for a command that only reads."""

from __future__ import annotations

import json
import os
import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conductor.ledger import identity
from tests.conftest import PYTHON, Result, conductor_bin, git, run_process
from tests.scenario import AGENT, Project, copy_project

NOTE = "note: git has no user identity; committing as Conductor <conductor@localhost>"
HOW = 'git config --global user.name "Your Name" && git config --global user.email you@example.com'


def fresh_env(home: Path) -> dict[str, str]:
    """A user with no git identity: an empty HOME, no system config, no GIT_* identity."""
    home.mkdir(exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_")) and k not in ("EMAIL",)
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
    )
    return env


def conductor(cwd: Path, env: dict[str, str], *args: str) -> Result:
    return run_process(conductor_bin(), *args, cwd=cwd, env=env)


def as_fresh_user(monkeypatch: pytest.MonkeyPatch, home: Path, **more: str) -> None:
    """This process as one of a user with no git identity (fresh_env, and `more`), for `run_cli`:
    Conductor's git commands read the identity through the environment."""
    env = {**fresh_env(home), **more}
    for name in set(os.environ) - set(env):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def as_new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next `run_cli` as the first command of a process: the note is not said yet."""
    monkeypatch.setattr(identity, "_noted", threading.Event())


def agent(tmp_path: Path) -> str:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"*": [{"write": {"hello.py": "print('hello')\n"}}]}))
    return f"{shlex.quote(PYTHON)} {shlex.quote(str(AGENT))} {shlex.quote(str(script))}"


def plan_file(tmp_path: Path) -> str:
    path = tmp_path / "plan.yaml"
    step = {
        "title": "Create hello.py",
        "instruction": "Create hello.py",
        "allowed_files": ["hello.py"],
        "verify": [f"{PYTHON} hello.py"],
    }
    path.write_text(yaml.safe_dump({"goal": "hello", "steps": [step]}))
    return str(path)


@dataclass
class NoIdentity:
    """A project made, and a plan built, by `conductor` processes of a user with no git identity."""

    root: Path
    env: dict[str, str]
    plan: str
    init: Result  # what `conductor init proj` said
    build: Result  # what `conductor build --json` said


@pytest.fixture(scope="module")
def no_identity(tmp_path_factory: pytest.TempPathFactory) -> NoIdentity:
    """Made once per module (tests that change it take a copy: `copied`)."""
    tmp_path = tmp_path_factory.mktemp("no-identity")
    env = fresh_env(tmp_path / "home")
    init = conductor(tmp_path, env, "init", "proj")
    assert init.code == 0, init.err
    root = tmp_path / "proj"
    built = conductor(
        root, env, "build", "--plan", plan_file(tmp_path), "--exec", agent(tmp_path), "--yes", "--json"
    )
    assert built.code == 0, built.err
    (tmp_path / "scripts").mkdir()
    return NoIdentity(root, env, json.loads(built.out)["plan"], init, built)


def copied(built: NoIdentity, tmp_path: Path) -> Path:
    """A copy of the built project (with its fork worktree) of its own: its root."""
    return copy_project(Project(built.root, built.root.parent / "scripts"), tmp_path).root


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_without_an_identity_the_first_commit_says_who_commits_and_how_to_change_it(
    no_identity: NoIdentity, tmp_path: Path
) -> None:
    init, built, env = no_identity.init, no_identity.build, no_identity.env
    assert init.err.count(NOTE) == 1 and HOW in init.err
    root = copied(no_identity, tmp_path)
    assert git(root, "log", "--format=%an <%ae>", env=env).strip() == "Conductor <conductor@localhost>"

    assert json.loads(built.out)["state"] == "completed"  # stdout stays JSON
    assert NOTE not in built.out
    assert built.err.count(NOTE) == 1 and built.err.count(HOW) == 1  # once per process
    plan = no_identity.plan
    committer = git(root, "log", "-1", "--format=%cn <%ce>", f"conductor/{plan}/main", env=env)
    assert committer.strip() == "Conductor <conductor@localhost>"
    recorder = git(root, "log", "-1", "--format=%an <%ae>", f"refs/conductor/plans/{plan}", env=env)
    assert recorder.strip() == "Conductor <conductor@localhost>"

    for reading in (["status"], ["events", "--plan", plan], ["explain", "step_001", "--plan", plan]):
        shown = conductor(root, env, *reading)
        assert shown.code == 0, (reading, shown.err)
        assert "git has no user" not in shown.err + shown.out, reading


def built_as_fresh_user(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch, config: dict[str, str]
) -> tuple[Path, Result]:
    """A fresh user's `init` and `build`, each as a process of its own would run it, in a project
    whose git config holds `config` (user.name, user.email)."""
    as_fresh_user(monkeypatch, tmp_path / "home")
    monkeypatch.chdir(tmp_path)
    as_new_process(monkeypatch)
    assert run_cli("init", "proj").code == 0
    root = tmp_path / "proj"
    for key, value in config.items():
        git(root, "config", key, value)
    monkeypatch.chdir(root)
    as_new_process(monkeypatch)
    built = run_cli("build", "--plan", plan_file(tmp_path), "--exec", agent(tmp_path), "--yes")
    assert built.code == 0, built.err
    return root, built


def test_an_identity_from_config_or_the_environment_is_used_silently(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = {"user.name": "Ada Lovelace", "user.email": "ada@example.com"}
    root, built = built_as_fresh_user(tmp_path, run_cli, monkeypatch, identity)
    assert "git has no user" not in built.err + built.out
    plan = git(root, "for-each-ref", "--format=%(refname:lstrip=3)", "refs/conductor/plans/").strip()
    recorder = git(root, "log", "-1", "--format=%cn <%ce>", f"refs/conductor/plans/{plan}")
    assert recorder.strip() == "Ada Lovelace <ada@example.com>"

    as_fresh_user(
        monkeypatch,
        tmp_path / "home2",
        **{f"GIT_{who}_NAME": "Grace Hopper" for who in ("AUTHOR", "COMMITTER")},
        **{f"GIT_{who}_EMAIL": "grace@example.com" for who in ("AUTHOR", "COMMITTER")},
    )
    monkeypatch.chdir(tmp_path)
    as_new_process(monkeypatch)
    initialized = run_cli("init", "other")
    assert initialized.code == 0, initialized.err
    assert "git has no user" not in initialized.err + initialized.out


def test_half_an_identity_is_completed_and_said(
    tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, built = built_as_fresh_user(tmp_path, run_cli, monkeypatch, {"user.name": "Ada Lovelace"})
    assert (
        built.err.count("note: git has no user.email; committing as Ada Lovelace <conductor@localhost>") == 1
    )
    assert HOW in built.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_without_an_identity_adopt_squash_commits_as_conductor_like_every_other_commit(
    no_identity: NoIdentity, tmp_path: Path
) -> None:
    root, env, plan = copied(no_identity, tmp_path), no_identity.env, no_identity.plan
    adopted = conductor(root, env, "adopt", plan, "--squash", "--json")
    assert adopted.code == 0, adopted.err
    assert "refused by a hook" not in adopted.err and "Author identity unknown" not in adopted.err
    assert adopted.err.count(NOTE) == 1  # said, as for the plan's own commits
    commit = json.loads(adopted.out)["commit"]
    who = git(root, "log", "-1", "--format=%an <%ae>|%cn <%ce>", commit, env=env).strip()
    assert who == "Conductor <conductor@localhost>|Conductor <conductor@localhost>"
    assert (root / "hello.py").is_file()
    assert conductor(root, env, "verify", plan).code == 0


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_git_refusing_the_squash_commit_is_not_called_a_hook_refusal(
    no_identity: NoIdentity, tmp_path: Path
) -> None:
    root, env, plan = copied(no_identity, tmp_path), no_identity.env, no_identity.plan
    git(root, "config", "commit.gpgsign", "true", env=env)
    git(root, "config", "gpg.program", "false", env=env)  # signing fails: git refuses, no hook runs
    head = git(root, "rev-parse", "HEAD", env=env)
    refused = conductor(root, env, "adopt", plan, "--squash")
    assert refused.code == 1
    assert "git could not make the squash commit" in refused.err and "gpg" in refused.err
    assert "hook" not in refused.err
    assert git(root, "rev-parse", "HEAD", env=env) == head
    assert git(root, "status", "--porcelain", env=env).strip() == ""
