"""CONDUCTOR_OVERRIDE: a person commits protected files, saying why, and the reason is in the
commit as a `Conductor-Override` trailer; agents and Conductor's own commits never get one."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, SANDBOX_MODES, git, run_process
from tests.guard.conftest import HookRepo
from tests.scenario import HELLO_STEPS, Project, build

REASON = "bump poetry.lock for CVE-2026-0001"


def commit(repo: Path, *args: str, override: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CONDUCTOR_OVERRIDE"}
    if override is not None:
        env["CONDUCTOR_OVERRIDE"] = override
    return subprocess.run(
        ["git", "commit", "-q", *args], cwd=repo, capture_output=True, text=True, env=env, check=False
    )


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def message(repo: Path) -> str:
    return git(repo, "log", "-1", "--format=%B")


def override_trailers(repo: Path, rev: str = "HEAD") -> list[str]:
    out = git(repo, "log", "-1", "--format=%(trailers:key=Conductor-Override,valueonly)", rev)
    return [line for line in out.splitlines() if line]


def stage_lock(repo: Path, text: str = "v2\n") -> None:
    (repo / "poetry.lock").write_text(text)
    git(repo, "add", "poetry.lock")


def test_hooks_install_puts_the_commit_msg_hook_beside_the_guard(guarded: Path, run_cli) -> None:
    hook = guarded / ".git" / "hooks" / "commit-msg"
    assert "conductor-hook: commit-msg" in hook.read_text() and os.access(hook, os.X_OK)
    removed = run_cli("hooks", "uninstall", "--json")
    assert {c["hook"]: c["action"] for c in json.loads(removed.out)} == {
        "pre-commit": "removed",
        "commit-msg": "removed",
        "pre-push": "absent",
    }
    assert not hook.exists()


def test_a_protected_change_goes_through_with_a_reason_recorded_as_a_trailer(guarded: Path) -> None:
    stage_lock(guarded)
    before = head(guarded)
    proc = commit(guarded, "-m", "Update the lock file", override=REASON)
    assert proc.returncode == 0, proc.stderr
    assert head(guarded) != before
    # stderr names what was let through, and why
    assert "CONDUCTOR_OVERRIDE" in proc.stderr and REASON in proc.stderr
    assert "modified poetry.lock" in proc.stderr and "protected by '*.lock'" in proc.stderr
    # the audit: the reason is a trailer of the commit
    assert message(guarded) == f"Update the lock file\n\nConductor-Override: {REASON}\n\n"
    assert override_trailers(guarded) == [REASON]
    # the next protected change without the override is refused again
    stage_lock(guarded, "v3\n")
    after = head(guarded)
    refused = commit(guarded, "-m", "again")
    assert refused.returncode != 0 and "commit refused" in refused.stderr
    assert "CONDUCTOR_OVERRIDE='reason' git commit" in refused.stderr  # the way through is named
    assert head(guarded) == after


def test_an_empty_reason_is_refused(guarded: Path) -> None:
    stage_lock(guarded)
    before = head(guarded)
    for empty in ("", "   "):
        proc = commit(guarded, "-m", "no reason", override=empty)
        assert proc.returncode != 0
        assert "CONDUCTOR_OVERRIDE is empty: say why" in proc.stderr and "modified poetry.lock" in proc.stderr
        assert head(guarded) == before


def test_the_reason_joins_the_trailers_already_there_and_is_one_line(guarded: Path) -> None:
    stage_lock(guarded)
    proc = commit(guarded, "-s", "-m", "Lock\n\nBody text.", override="  security\n fix  ")
    assert proc.returncode == 0, proc.stderr
    assert message(guarded) == (
        "Lock\n\nBody text.\n\n"
        "Signed-off-by: Test User <test@example.com>\nConductor-Override: security fix\n\n"
    )


def test_an_override_without_a_protected_change_leaves_the_commit_alone(guarded: Path) -> None:
    (guarded / "app.py").write_text("print(2)\n")
    git(guarded, "add", "app.py")
    proc = commit(guarded, "-m", "ordinary", override=REASON)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and message(guarded) == "ordinary\n\n"


def test_without_the_variable_the_commit_msg_hook_starts_no_python(guarded: Path) -> None:
    hook = guarded / ".git" / "hooks" / "commit-msg"
    hook.write_text(
        hook.read_text().replace(f"CONDUCTOR_PYTHON={PYTHON}", "CONDUCTOR_PYTHON=/nonexistent/python")
    )
    (guarded / "app.py").write_text("print(3)\n")
    git(guarded, "add", "app.py")
    assert commit(guarded, "-m", "fast").returncode == 0


def test_an_override_that_could_not_be_recorded_is_refused(guarded: Path) -> None:
    (guarded / ".git" / "hooks" / "commit-msg").unlink()
    stage_lock(guarded)
    before = head(guarded)
    proc = commit(guarded, "-m", "unrecorded", override=REASON)
    assert proc.returncode != 0 and head(guarded) == before
    assert "would not be recorded" in proc.stderr and "conductor hooks install" in proc.stderr


def test_a_foreign_commit_msg_hook_is_left_alone_and_the_guard_still_installed(repo: Path, run_cli) -> None:
    hook = repo / ".git" / "hooks" / "commit-msg"
    hook.write_text("#!/bin/sh\necho 'Change-Id: I123' >> \"$1\"\n")
    hook.chmod(0o755)
    result = run_cli("hooks", "install", "--json")
    assert result.code == 0, result.err
    actions = {c["hook"]: c["action"] for c in json.loads(result.out)}
    assert actions == {"pre-commit": "installed", "commit-msg": "skipped"}
    assert "Change-Id" in hook.read_text()
    said = run_cli("hooks", "install").out
    assert "commit-msg: not installed" in said and "CONDUCTOR_OVERRIDE" in said
    assert run_cli("hooks", "install", "--force").code == 0
    assert "conductor-hook: commit-msg" in hook.read_text()
    assert "Change-Id" in (hook.parent / "commit-msg.pre-conductor").read_text()


def test_the_guard_command_records_the_reason_for_any_hook_runner(guarded: Path, tmp_path: Path) -> None:
    """`conductor-guard --commit-msg FILE` is what the pre-commit framework's entry runs."""
    guard = str(Path(PYTHON).parent / "conductor-guard")
    stage_lock(guarded)
    msg = tmp_path / "COMMIT_EDITMSG"
    msg.write_text("Update\n")
    env = {**os.environ, "CONDUCTOR_OVERRIDE": REASON}
    assert run_process(guard, "--commit-msg", str(msg), cwd=guarded, env=env).code == 0
    assert msg.read_text() == f"Update\n\nConductor-Override: {REASON}\n"
    assert run_process(guard, "--commit-msg", str(msg), cwd=guarded, env=env).code == 0  # amend: once
    assert msg.read_text().count("Conductor-Override") == 1
    unset = {k: v for k, v in os.environ.items() if k != "CONDUCTOR_OVERRIDE"}
    other = tmp_path / "OTHER"
    other.write_text("Other\n")
    assert run_process(guard, "--commit-msg", str(other), cwd=guarded, env=unset).code == 0
    assert other.read_text() == "Other\n"


def test_the_pre_commit_manifest_offers_the_commit_msg_hook() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    recorder = hooks["conductor-guard-override"]
    assert recorder["stages"] == ["commit-msg"] and recorder["entry"] == "conductor-guard --commit-msg"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_an_agent_never_gets_the_override(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch, sandbox: str
) -> None:
    """Conductor runs with CONDUCTOR_OVERRIDE set: the agent and its verify commands do not see
    it, the agent's own `CONDUCTOR_OVERRIDE=x git commit` changes nothing, the protected change
    is rejected, and none of Conductor's commits carries an override."""
    proj.sandbox(sandbox)
    assert run_cli("hooks", "install").code == 0
    monkeypatch.setenv("CONDUCTOR_OVERRIDE", "a person's reason, not the agent's")
    unset = '[ -z "${CONDUCTOR_OVERRIDE+set}" ]'
    steps = [
        {**HELLO_STEPS[0], "verify": [f"sh -c '{unset}'", *HELLO_STEPS[0]["verify"]]},
        {"title": "Update the lock", "instruction": "Update poetry.lock", "allowed_files": ["**"]},
    ]
    plan = proj.plan(steps, policy={"behavior": {"max_attempts": 1}})
    agent = proj.agent(
        {
            "step_001": [{"write": {"hello.py": "def hello():\n    return 'hi'\n"}}],
            "step_002": [{"write": {"poetry.lock": "changed by the agent\n"}}],
        }
    )
    command = (
        f'{unset} || exit 9; {agent} && if [ "$CONDUCTOR_STEP" = step_002 ]; then'
        " CONDUCTOR_OVERRIDE=agent git -c user.name=a -c user.email=a@b commit -qam sneak || true; fi"
    )
    result = build(run_cli, proj, plan, command)
    assert result.code == 1, result.err
    events = proj.events()
    accepted = [e for e in events if e.type.value == "task.completed"]
    said = [f"{e.type.value} {e.summary}" for e in events]
    assert [e.step for e in accepted] == ["step_001"], said  # the agent and verify saw no override
    rejected = [e for e in events if e.type.value == "task.rejected"]
    assert len(rejected) == 1 and rejected[0].step == "step_002"
    assert "poetry.lock: modified: protected by '*.lock'" in rejected[0].summary
    assert (proj.root / "poetry.lock").read_text() == "locked\n"
    branch = proj.branch()
    assert "Conductor-Override" not in git(proj.root, "log", "--format=%B", branch)
    assert git(proj.root, "show", f"{branch}:poetry.lock") == "locked\n"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_conductors_own_merge_commit_carries_no_override(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`conductor adopt --merge` commits with the repository's hooks, but never with a person's
    override: a protected change written into the fork by hand is refused even so."""
    assert run_cli("hooks", "install").code == 0
    agent = proj.agent({"step_001": [{"write": {"hello.py": "def hello():\n    return 'hi'\n"}}]})
    assert build(run_cli, proj, proj.plan(HELLO_STEPS[:1]), agent).code == 0
    plan = proj.only_plan()
    main = git(proj.root, "symbolic-ref", "--short", "HEAD").strip()
    fork_tree = proj.worktree(plan)
    (fork_tree / "poetry.lock").write_text("changed by hand\n")
    git(fork_tree, "commit", "-q", "--no-verify", "-am", "a hand-made change")
    (proj.root / "other.py").write_text("x = 1\n")
    git(proj.root, "add", "other.py")
    git(proj.root, "commit", "-q", "-m", "meanwhile")
    before = git(proj.root, "rev-parse", main).strip()
    monkeypatch.setenv("CONDUCTOR_OVERRIDE", REASON)
    result = run_cli("adopt", plan, "--merge")
    assert result.code == 1 and "poetry.lock" in result.err
    assert git(proj.root, "rev-parse", main).strip() == before


@pytest.mark.slow
def test_pre_commit_framework_records_the_reason(guarded: Path, tmp_path: Path, hook_repo: HookRepo) -> None:
    """The real pre-commit framework runs the commit-msg entry of this repository's manifest."""
    stage_lock(guarded)
    msg = tmp_path / "COMMIT_EDITMSG"
    msg.write_text("Update the lock\n")
    proc = hook_repo.run(
        guarded,
        "conductor-guard-override",
        "--hook-stage",
        "commit-msg",
        "--commit-msg-filename",
        str(msg),
        env={**os.environ, "CONDUCTOR_OVERRIDE": REASON},
    )
    assert proc.code == 0, proc.out + proc.err
    assert "records CONDUCTOR_OVERRIDE" in proc.out
    assert msg.read_text() == f"Update the lock\n\nConductor-Override: {REASON}\n"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_readme_pre_commit_config_records_an_override(guarded: Path, run_cli, tmp_path: Path) -> None:
    """The README's .pre-commit-config.yaml, installed by the real framework in place of
    Conductor's hooks: the override goes through and is recorded, a plain commit is refused."""
    assert run_cli("hooks", "uninstall").code == 0
    section = (ROOT / "README.md").read_text().split("### With the pre-commit framework", 1)[1]
    (guarded / ".pre-commit-config.yaml").write_text(section.split("```yaml", 1)[1].split("```", 1)[0])
    git(guarded, "add", ".pre-commit-config.yaml")
    git(guarded, "commit", "-q", "-m", "pre-commit config")
    env = {
        **{k: v for k, v in os.environ.items() if k != "CONDUCTOR_OVERRIDE"},
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
    }
    installed = run_process(PYTHON, "-m", "pre_commit", "install", cwd=guarded, env=env)
    assert installed.code == 0, installed.out + installed.err
    assert (guarded / ".git" / "hooks" / "commit-msg").exists()
    stage_lock(guarded)
    before = head(guarded)
    refused = run_process("git", "commit", "-q", "-m", "plain", cwd=guarded, env=env)
    assert refused.code != 0 and "protected by '*.lock'" in refused.out + refused.err
    assert head(guarded) == before
    through = run_process(
        "git", "commit", "-q", "-m", "Lock", cwd=guarded, env={**env, "CONDUCTOR_OVERRIDE": REASON}
    )
    assert through.code == 0, through.out + through.err
    assert override_trailers(guarded) == [REASON]
    # the guard runs once per commit (pre-commit), the override hook once (commit-msg)
    ran = (through.out + through.err).splitlines()
    assert [line.split(".")[0] for line in ran if line.startswith("conductor guard")] == [
        "conductor guard (protected files)",
        "conductor guard (records CONDUCTOR_OVERRIDE)",
    ], through.out + through.err
