"""The guard through real `git commit`s with the native hook, and through the pre-commit framework."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, ROOT, conductor_bin, git, run_process
from tests.guard.conftest import POLICY, HookRepo


def commit(repo: Path, message: str = "change", *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", "-m", message, *extra], cwd=repo, capture_output=True, text=True, check=False
    )


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def assert_refused(repo: Path, proc: subprocess.CompletedProcess[str], before: str, *needles: str) -> None:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "commit refused" in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    assert head(repo) == before


def test_unprotected_change_commits(guarded: Path) -> None:
    before = head(guarded)
    (guarded / "app.py").write_text("print(2)\n")
    git(guarded, "add", "app.py")
    proc = commit(guarded)
    assert proc.returncode == 0, proc.stderr
    assert head(guarded) != before


def test_modification_is_refused_naming_path_pattern_and_policy(guarded: Path) -> None:
    before = head(guarded)
    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "poetry.lock")
    proc = commit(guarded)
    assert_refused(
        guarded, proc, before, "modified poetry.lock", "protected by '*.lock'", ".conductor/policy.yaml:3"
    )


def test_addition_is_refused(guarded: Path) -> None:
    before = head(guarded)
    (guarded / "migrations" / "0002.py").write_text("new\n")
    git(guarded, "add", "migrations/0002.py")
    assert_refused(guarded, commit(guarded), before, "added migrations/0002.py", "'migrations/*'")


def test_deletion_is_refused(guarded: Path) -> None:
    before = head(guarded)
    git(guarded, "rm", "-q", "migrations/0001.py")
    assert_refused(guarded, commit(guarded), before, "deleted migrations/0001.py")


def test_rename_out_of_protection_is_refused(guarded: Path) -> None:
    before = head(guarded)
    git(guarded, "mv", "poetry.lock", "poetry.txt")
    assert_refused(guarded, commit(guarded), before, "renamed poetry.lock -> poetry.txt", "(old path)")


def test_rename_into_protection_is_refused(guarded: Path) -> None:
    before = head(guarded)
    git(guarded, "mv", "app.py", "migrations/0002.py")
    assert_refused(guarded, commit(guarded), before, "renamed app.py -> migrations/0002.py", "(new path)")


def test_commit_all_is_checked(guarded: Path) -> None:
    before = head(guarded)
    (guarded / "poetry.lock").write_text("v3\n")
    assert_refused(guarded, commit(guarded, "all", "-a"), before, "modified poetry.lock")


def test_every_offending_path_is_listed(guarded: Path) -> None:
    before = head(guarded)
    (guarded / "poetry.lock").write_text("v2\n")
    (guarded / "uv.lock").write_text("new\n")
    (guarded / "app.py").write_text("fine\n")
    git(guarded, "add", "-A")
    proc = commit(guarded)
    assert_refused(guarded, proc, before, "modified poetry.lock", "added uv.lock")
    assert "app.py" not in proc.stderr


def test_unprotecting_in_the_same_commit_does_not_work(guarded: Path) -> None:
    """A commit cannot loosen the policy it is checked against."""
    before = head(guarded)
    (guarded / ".conductor" / "policy.yaml").write_text("file_rules:\n  protected_patterns: []\n")
    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "-A")
    assert_refused(guarded, commit(guarded), before, "HEAD:.conductor/policy.yaml:3")
    # changing the policy in a commit of its own is allowed, and then the file is free
    git(guarded, "reset", "-q", "poetry.lock")
    assert commit(guarded, "relax policy").returncode == 0
    git(guarded, "add", "poetry.lock")
    assert commit(guarded, "update lock").returncode == 0


def test_staged_policy_protections_apply_at_once(guarded: Path) -> None:
    before = head(guarded)
    (guarded / ".conductor" / "policy.yaml").write_text(POLICY + "    - 'app.py'\n")
    (guarded / "app.py").write_text("changed\n")
    git(guarded, "add", "-A")
    assert_refused(guarded, commit(guarded), before, "modified app.py", ".conductor/policy.yaml:5")


def test_first_commit_of_a_new_repository_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli
) -> None:
    fresh = tmp_path / "fresh"
    git(tmp_path, "init", "-q", str(fresh))
    monkeypatch.chdir(fresh)
    (fresh / ".conductor").mkdir()
    (fresh / ".conductor" / "policy.yaml").write_text(POLICY)
    (fresh / "yarn.lock").write_text("x\n")
    git(fresh, "add", "-A")
    assert run_cli("hooks", "install").code == 0
    proc = commit(fresh, "first")
    assert proc.returncode != 0 and "added yarn.lock" in proc.stderr
    assert git(fresh, "rev-parse", "--verify", "-q", "HEAD", check=False) == ""


def test_invalid_policy_blocks_with_a_clear_error(guarded: Path) -> None:
    before = head(guarded)
    (guarded / ".conductor" / "policy.yaml").write_text("file_rules:\n  protected_pattern: ['*.lock']\n")
    git(guarded, "add", "-A")
    proc = commit(guarded)
    assert proc.returncode != 0 and head(guarded) == before
    assert "conductor-guard: error: .conductor/policy.yaml:2: unknown key" in proc.stderr
    assert "file_rules.protected_pattern" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_guard_command_filters_by_files_but_always_checks_deletions(guarded: Path) -> None:
    guard = conductor_bin("conductor-guard")
    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "poetry.lock")
    git(guarded, "rm", "-q", "migrations/0001.py")
    only_app = run_process(guard, "app.py", cwd=guarded)
    assert only_app.code == 1
    assert "deleted migrations/0001.py" in only_app.err and "poetry.lock" not in only_app.err
    everything = run_process(guard, cwd=guarded)
    assert everything.code == 1 and "poetry.lock" in everything.err
    assert run_process(guard, "--help", cwd=guarded).code == 0


def test_no_policy_means_nothing_is_protected(repo: Path) -> None:
    (repo / "x.lock").write_text("x\n")
    git(repo, "add", "x.lock")
    assert run_process(conductor_bin("conductor-guard"), cwd=repo).code == 0


def test_hooks_install_respects_core_hookspath(guarded: Path, run_cli) -> None:
    custom = guarded / "my-hooks"
    git(guarded, "config", "core.hooksPath", "my-hooks")
    result = run_cli("hooks", "install", "--json")
    assert result.code == 0
    assert json.loads(result.out) == [
        {"hook": "pre-commit", "path": str((custom / "pre-commit").resolve()), "action": "installed"},
        {"hook": "commit-msg", "path": str((custom / "commit-msg").resolve()), "action": "installed"},
    ]
    assert (custom / "pre-commit").exists() and (custom / "commit-msg").exists()
    assert os.access(custom / "pre-commit", os.X_OK)
    before = head(guarded)
    (guarded / "poetry.lock").write_text("v9\n")
    git(guarded, "add", "poetry.lock")
    assert_refused(guarded, commit(guarded), before, "modified poetry.lock")


def test_foreign_hook_is_not_overwritten_without_force(repo: Path, run_cli) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    hook.chmod(0o755)
    refused = run_cli("hooks", "install")
    assert refused.code == 1
    assert "not written by Conductor" in refused.err and str(hook) in refused.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    forced = run_cli("hooks", "install", "--force")
    assert forced.code == 0 and "kept as" in forced.out
    assert "conductor-hook: pre-commit" in hook.read_text()
    assert (hook.parent / "pre-commit.pre-conductor").read_text() == "#!/bin/sh\necho mine\n"
    again = run_cli("hooks", "install")
    assert again.code == 0 and "updated" in again.out
    removed = run_cli("hooks", "uninstall")
    assert removed.code == 0 and "restored" in removed.out
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert (
        f"pre-commit: left alone: it was not written by Conductor ({hook})"
        in run_cli("hooks", "uninstall").out
    )


def test_installed_hook_uses_this_python_and_reports_a_missing_one(guarded: Path) -> None:
    hook = guarded / ".git" / "hooks" / "pre-commit"
    text = hook.read_text()
    assert f"CONDUCTOR_PYTHON={PYTHON}" in text
    hook.write_text(text.replace(f"CONDUCTOR_PYTHON={PYTHON}", "CONDUCTOR_PYTHON=/nonexistent/python"))
    (guarded / "app.py").write_text("x\n")
    git(guarded, "add", "app.py")
    proc = commit(guarded)
    assert proc.returncode != 0 and "conductor hooks install --force" in proc.stderr


def test_guard_does_not_import_heavy_modules(guarded: Path) -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv=['conductor-guard']\n"
        "try:\n    runpy.run_module('conductor.guard', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy=('pydantic','pygit2','google.genai','sigstore','rich','click','mcp')\n"
        "heavy=[m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = run_process(PYTHON, "-c", code, cwd=guarded)
    assert result.out.strip() == "", result.out


def test_pre_commit_manifest_validates() -> None:
    result = run_process(
        PYTHON, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")
    )
    assert result.code == 0, result.out + result.err


@pytest.mark.slow
def test_pre_commit_framework_blocks_a_protected_file(guarded: Path, hook_repo: HookRepo) -> None:
    """The real pre-commit framework installs this repository's hook and runs it."""
    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "poetry.lock")
    blocked = hook_repo.run(guarded, "conductor-guard")
    output = blocked.out + blocked.err
    assert blocked.code == 1, output
    assert "conductor guard (protected files)" in output and "Failed" in output
    assert "modified poetry.lock" in output and "protected by '*.lock'" in output
    # The passing case is left to the native-hook tests above, which run the same guard.


def test_parsed_policy_cache_is_keyed_by_content_and_survives_corruption(guarded: Path) -> None:
    cache = guarded / ".git" / "conductor" / "guard-cache"
    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "poetry.lock")
    guard = conductor_bin("conductor-guard")
    first = run_process(guard, cwd=guarded)
    assert first.code == 1 and cache.exists()
    oid = git(guarded, "rev-parse", ":.conductor/policy.yaml").strip()
    assert oid in cache.read_text()
    cached = run_process(guard, cwd=guarded)
    assert cached.err == first.err
    cache.write_text("{not json")
    assert run_process(guard, cwd=guarded).err == first.err
