"""The guard's fast start: the native hook runs Python isolated and without site processing,
a cached policy spares the YAML parser and pathspec, and the answers stay pathspec's."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conductor import gitcli, project
from conductor.guard import rules, staged
from conductor.guard.cache import Search
from conductor.policy.patterns import Pattern, ProtectedPatterns
from conductor.runner.install.hooks import package_parent
from tests.conftest import PYTHON, conductor_bin, git, run_process

# What the installed pre-commit hook runs, with the modules it imported printed at the end.
HOOK_CODE = (
    "import sys; sys.path.append(sys.argv.pop(1)); from conductor.guard.main import main\n"
    "code = main()\n"
    "print('MODULES', ','.join(sorted(sys.modules)))\n"
    "raise SystemExit(code)\n"
)
TRICKY = [
    "*.lock",
    "build/",
    "!build/keep.txt",
    "/top.cfg",
    "docs/**/secret*",
    "a?c.txt",
    "[xy]z.ini",
    "**/generated/**",
    "vendor",
    "!vendor/ok.py",
    "\\#literal",
    "deep/**",
    "# a comment",
    "",
    "*.min.*",
    "nested/dir/",
]
PATHS = [
    "poetry.lock",
    "sub/x.lock",
    "lockfile",
    "build/out.o",
    "build/keep.txt",
    "src/build/y.c",
    "top.cfg",
    "sub/top.cfg",
    "docs/secret.md",
    "docs/a/b/secret.txt",
    "docs/public.md",
    "abc.txt",
    "a/abc.txt",
    "ac.txt",
    "zz.ini",
    "xz.ini",
    "src/generated/g.py",
    "generated/h.py",
    "vendor/ok.py",
    "vendor/bad.py",
    "x/vendor/y.py",
    "#literal",
    "deep/er/file",
    "deeper/file",
    "app.py",
    "spaced name.txt",
    "ünï/çödé.lock",
    "js/app.min.js",
    "nested/dir/f",
    "nested/dirt",
]


def commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", *args], cwd=repo, capture_output=True, text=True, check=False
    )


def hook_run(repo: Path) -> tuple[int, set[str], str]:
    """Run the guard as the installed hook does: exit code, modules imported, stderr."""
    proc = subprocess.run(
        [PYTHON, "-I", "-S", "-c", HOOK_CODE, package_parent()], cwd=repo, capture_output=True, text=True
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES ")][-1]
    return proc.returncode, set(line.split(" ", 1)[1].split(",")), proc.stderr


def expected(patterns: list[str], paths: list[str]) -> set[str]:
    """What pathspec itself protects, through the class the policy engine uses."""
    protected = ProtectedPatterns([[Pattern(p, "policy") for p in patterns]])
    return {path for path in paths if protected.check(path) is not None}


def test_the_installed_hook_starts_python_isolated_where_the_package_is(guarded: Path) -> None:
    hook = (guarded / ".git" / "hooks" / "pre-commit").read_text()
    lib = package_parent()
    assert (Path(lib) / "conductor" / "guard" / "main.py").is_file()
    assert f"CONDUCTOR_LIB={lib}\n" in hook
    assert '"$CONDUCTOR_PYTHON" -I -S -c ' in hook
    assert f"CONDUCTOR_LIB={lib}\n" in (guarded / ".git" / "hooks" / "commit-msg").read_text()


@pytest.mark.parametrize("fallback", [False, True], ids=["fast", "package-moved"])
def test_a_conductor_package_in_the_working_tree_never_runs(guarded: Path, fallback: bool) -> None:
    """Before, `python -m conductor.guard` imported ./conductor from the tree being committed."""
    hook = guarded / ".git" / "hooks" / "pre-commit"
    if fallback:  # the package is no longer where the hook was told: `-P -m conductor.guard`
        hook.write_text(re.sub(r"(?m)^CONDUCTOR_LIB=.*$", "CONDUCTOR_LIB=/nonexistent", hook.read_text()))
    marker = guarded / "planted-ran"
    planted = guarded / "conductor" / "guard"
    planted.mkdir(parents=True)
    (guarded / "conductor" / "__init__.py").write_text("")
    (planted / "__init__.py").write_text("")
    for name in ("__main__.py", "main.py"):
        (planted / name).write_text(f"open({str(marker)!r}, 'w').close()\ndef main():\n    return 0\n")
    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "poetry.lock")
    before = git(guarded, "rev-parse", "HEAD")
    proc = commit(guarded, "-m", "lock")
    assert proc.returncode == 1 and "modified poetry.lock" in proc.stderr, proc.stderr
    assert not marker.exists()
    git(guarded, "reset", "-q", "poetry.lock")
    (guarded / "app.py").write_text("print(3)\n")
    git(guarded, "add", "app.py")
    assert commit(guarded, "-m", "app").returncode == 0
    assert git(guarded, "rev-parse", "HEAD") != before and not marker.exists()


def test_a_commit_of_nothing_protected_imports_no_parser_and_no_pathspec(guarded: Path) -> None:
    (guarded / "app.py").write_text("print(2)\n")
    (guarded / "other.py").write_text("x = 1\n")
    git(guarded, "add", "-A")
    (guarded / ".git" / "conductor" / "guard-cache").unlink(missing_ok=True)
    code, first, _ = hook_run(guarded)
    assert code == 0 and "yaml" in first and "pathspec" in first  # parsed once, then cached
    code, modules, err = hook_run(guarded)
    assert code == 0, err
    slow = {
        "yaml",
        "pathspec",
        "subprocess",
        "dataclasses",
        "pathlib",
        "typing",
        "site",
        "pydantic",
        "pygit2",
    }
    assert modules & slow == set()
    assert not any(m.startswith("conductor.models") or m == "conductor.gitcli" for m in modules)


def test_a_refused_commit_under_the_fast_start_names_what_pathspec_decides(guarded: Path) -> None:
    (guarded / ".conductor" / "policy.yaml").write_text(
        "file_rules:\n  protected_patterns:\n" + "".join(f"    - {json.dumps(p)}\n" for p in TRICKY)
    )
    git(guarded, "add", "-A")
    assert commit(guarded, "-m", "tricky policy").returncode == 0
    for path in PATHS:
        (guarded / path).parent.mkdir(parents=True, exist_ok=True)
        (guarded / path).write_text(f"{path}\n")
    git(guarded, "add", "-A")
    for attempt in ("parsed", "cached"):
        code, _, err = hook_run(guarded)
        refused = set(re.findall(r"^  (?:added|modified) (.+?)  +protected by", err, re.MULTILINE))
        assert refused == expected(TRICKY, PATHS), attempt
        assert code == 1 and {"poetry.lock", "build/out.o", "vendor/bad.py"} <= refused
        assert "build/keep.txt" not in refused and "vendor/ok.py" not in refused
    git(guarded, "commit", "-q", "--no-verify", "-m", "all of them")
    git(guarded, "mv", "build/out.o", "out.o")  # a rename out of protection: the old side decides
    git(guarded, "mv", "app.py", "yz.ini")
    proc = commit(guarded, "-m", "renames")
    assert proc.returncode == 1
    assert "renamed build/out.o -> out.o" in proc.stderr and "(old path)" in proc.stderr
    assert "renamed app.py -> yz.ini" in proc.stderr and "(new path)" in proc.stderr


def test_every_path_pathspec_protects_is_found_by_the_cached_expressions() -> None:
    """The shortcut is sound: a path none of `searches` finds is never protected."""
    searches = [re.compile(regex, flags) for regex, flags in rules.searches(TRICKY)]
    paths = [*PATHS, *(f"x/{p}" for p in PATHS), *(f"{p}/y" for p in PATHS)]
    protected = expected(TRICKY, paths)
    assert len(protected) > 20
    for path in protected:
        assert any(s.search(path) for s in searches), path
    assert not any(s.search("app.py") for s in searches)


@pytest.mark.parametrize("field", [1, 3], ids=["another-python", "another-pathspec"])
def test_a_cache_written_under_another_python_or_pathspec_is_not_trusted(guarded: Path, field: int) -> None:
    cache = guarded / ".git" / "conductor" / "guard-cache"
    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "poetry.lock")
    guard = conductor_bin("conductor-guard")
    assert run_process(guard, cwd=guarded).code == 1
    written = cache.read_text()
    lines = written.splitlines()
    oid = git(guarded, "rev-parse", ":.conductor/policy.yaml").strip()
    assert lines[0] == "conductor-guard-cache 3" and f"policy\t{oid}" in lines
    patterns = [ln.split("\t") for ln in lines if ln.startswith("pattern\t")]
    assert [(ln, bytes.fromhex(text).decode()) for _, ln, text in patterns] == [
        ("3", "*.lock"),
        ("4", "migrations/*"),
    ]
    # The same policy, as another Python or pathspec would have left it: nothing protected.
    stamp = lines[1].split("\t")
    stamp[field] = "31" if field == 1 else "1"
    cache.write_text("\n".join([lines[0], "\t".join(stamp), f"policy\t{oid}"]) + "\n")
    again = run_process(guard, cwd=guarded)
    assert again.code == 1 and "modified poetry.lock" in again.err
    assert cache.read_text() == written


def test_the_cached_expressions_are_rebuilt_without_re_exactly_as_re_compiles_them() -> None:
    for source, flags in rules.searches(TRICKY):
        search = Search.of(source, flags)
        assert search.code is not None  # this Python's engine: the code is kept
        again = Search.parse(search.line().split("\t"))
        assert again.compiled() == re.compile(source, flags)  # a Pattern compares its code too
        again.code = [*again.code[:-1], 10**6]  # code this engine refuses: re.compile instead
        assert again.compiled() == re.compile(source, flags)


def test_outside_a_repository_the_error_is_gits_as_everywhere(tmp_path: Path) -> None:
    result = run_process(conductor_bin("conductor-guard"), cwd=tmp_path)
    assert result.code == 1
    assert result.err.startswith(f"conductor-guard: error: not a git repository: {tmp_path}")
    assert "Traceback" not in result.err


def test_the_guard_runs_git_as_conductor_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.name")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "Someone")
    monkeypatch.setenv("CONDUCTOR_OVERRIDE", "a reason")
    want = gitcli.hardened()
    want.pop(gitcli.OVERRIDE_VARIABLE)
    assert staged.hardened_env() == want
    assert dict(staged.HARDENED) == gitcli.HARDENED
    assert staged.OVERRIDE_VARIABLE == gitcli.OVERRIDE_VARIABLE
    assert staged.POLICY_FILE == project.POLICY_FILE
    assert os.environ["CONDUCTOR_OVERRIDE"] == "a reason"


def test_without_posix_spawn_the_guard_runs_git_as_conductor_does(
    guarded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where os.posix_spawnp is missing (Windows), the same answers come through gitcli."""
    from conductor.guard.main import main

    (guarded / "poetry.lock").write_text("v2\n")
    git(guarded, "add", "poetry.lock")
    assert main([]) == 1
    spawned = capsys.readouterr().err
    monkeypatch.setattr(staged, "SPAWN", False)
    assert main([]) == 1
    assert capsys.readouterr().err == spawned and "modified poetry.lock" in spawned
