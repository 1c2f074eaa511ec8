"""A hostile agent, through the real CLI: every attack is impossible (under the sandbox) or
rejected and undone (without it), nothing of it is left behind, and nothing it started still
runs after the step. docs/security.md is the threat model these cases check."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conductor.cli import main
from tests.conftest import NO_SANDBOX, PYTHON, SANDBOX_MODES, git, processes_with
from tests.scenario import Project, build

# Every hostile script starts with a process that would outlive the step if it could: `sleep`
# for a time no other process on the machine sleeps.
LINGER = "setsid sleep {marker} </dev/null >/dev/null 2>&1 &\n"
ROOT_OF_CHECKOUT = 'root="$CHECKOUT"\n'  # the scripts are told where it is: nothing in the worktree says
GIT_DIR = "gitdir=$root/.git\n"
HONEST = "printf 'x = 1\\n' > new.py\n"


def state_of(root: Path) -> dict[str, str]:
    """Everything a step must leave as it found it, byte for byte: the checkout's files (the
    mailbox aside), the repository's config, hooks and info files, HEAD and refs."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith((".git/", ".conductor/handoff")) or rel == ".git" or path.is_dir():
            if rel in (".git/config", ".git/HEAD"):
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            continue
        out[rel] = os.readlink(path) if path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()
    for directory in ("hooks", "info"):
        for path in sorted((root / ".git" / directory).rglob("*")):
            if path.is_file():
                out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    for line in git(root, "for-each-ref", "--format=%(refname) %(objectname)").splitlines():
        if not line.startswith(("refs/conductor/", "refs/heads/conductor/")):
            name, oid = line.split()
            out[name] = oid
    return out


@dataclass
class Attack:
    script: str  # shell, run in the worktree as the step's agent (after LINGER)
    sandboxed: str  # what happens under the sandbox: "accepted" or the rejection's words
    unsandboxed: str | None = None  # what happens without it, when that differs
    check: Callable[[Project], None] | None = None  # more to assert afterwards
    result: dict[str, object] | None = None  # the result file to write, when not derived
    env: dict[str, str] | None = None  # in Conductor's environment (and so the agent's)
    # without a sandbox: files of the checkout it changed, which stay as they are (reported; the
    # user's files are never reverted or removed: nobody can tell the user's edits from it)
    leaves: tuple[str, ...] = ()


def writes_result(fields: dict[str, object]) -> str:
    body = json.dumps(
        {"task_id": "step_001", "attempt": 1, "status": "completed", "summary": "done", **fields}
    )
    return f"printf '%s' '{body}' > \"$CONDUCTOR_RESULT_DIR/step_001.result.json\"\n"


def nothing_huge_in_the_ledger(proj: Project) -> None:
    sizes = git(proj.root, "cat-file", "--batch-all-objects", "--batch-check=%(objectsize)").split()
    assert max(map(int, sizes)) < 2 * 1024 * 1024


def every_object(proj: Project) -> bytes:
    """The content of every object in the repository: the ledger, the branches, all."""
    return subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=proj.root, capture_output=True, check=True
    ).stdout


def no_passwd_in_the_ledger(proj: Project) -> None:
    assert b"root:x:0:0" not in every_object(proj)


def put_back(path: str) -> str:
    """The rejection of a change outside the worktree, undone."""
    return f"{path}: changed outside the worktree while the step ran (put back)"


GITHUB_PAT = "ghp_" + "Zq3" * 12
DATABASE_PASSWORD = "s3cr3t-pa55word"


def no_credentials_in_the_ledger(proj: Project) -> None:
    objects = every_object(proj)
    assert GITHUB_PAT.encode() not in objects and DATABASE_PASSWORD.encode() not in objects
    # it never had them: secret-looking variables are not passed unless named (sandbox.env)
    assert "my token is , the database \n" in proj.record("evidence/step_001/attempt_1/stdout.log")


def only_conductors_commit_on_the_branch(proj: Project) -> None:
    """The agent's own commit is not the step: the branch has Conductor's, which verifies."""
    log = git(
        proj.root, "log", "--format=%s%n%(trailers:key=Conductor-Step,valueonly)", f"main..{proj.branch()}"
    )
    assert log.split() == ["Write", "new.py", "step_001"], log
    assert main(["verify"]) == 0  # in the project, the current directory


ATTACKS = {
    "write_the_checkout_by_absolute_path": Attack(
        ROOT_OF_CHECKOUT + 'echo pwned >> "$root/README.md"; echo x > "$root/pwned.txt"\n' + HONEST,
        sandboxed="accepted",
        leaves=("README.md", "pwned.txt"),
    ),
    "write_the_checkout_through_a_symlink": Attack(
        ROOT_OF_CHECKOUT + 'ln -s "$root/README.md" link.py; echo pwned >> link.py\n' + HONEST,
        sandboxed="symlink to an absolute path",
        leaves=("README.md",),
    ),
    "plant_a_hook": Attack(
        ROOT_OF_CHECKOUT + GIT_DIR + "printf '#!/bin/sh\\necho pwned\\n' > $gitdir/hooks/post-checkout; "
        "chmod +x $gitdir/hooks/post-checkout\n" + HONEST,
        sandboxed="accepted",
        unsandboxed=put_back(".git/hooks/post-checkout"),
    ),
    "set_core_fsmonitor": Attack(
        ROOT_OF_CHECKOUT
        + GIT_DIR
        + 'git config --file $gitdir/config core.fsmonitor "touch $PWNED"\n'
        + HONEST,
        sandboxed="accepted",
        unsandboxed=put_back(".git/config"),
    ),
    "write_info_attributes_and_exclude": Attack(
        ROOT_OF_CHECKOUT + GIT_DIR + "echo '* filter=pwn' > $gitdir/info/attributes; "
        "echo 'README.md' >> $gitdir/info/exclude\n" + HONEST,
        sandboxed="accepted",
        unsandboxed=put_back(".git/info/attributes"),
    ),
    "move_the_users_branch": Attack(
        ROOT_OF_CHECKOUT + GIT_DIR + "c=$(git --git-dir=$gitdir commit-tree -m pwned 'HEAD^{tree}') && "
        "git --git-dir=$gitdir update-ref refs/heads/main $c\n" + HONEST,
        sandboxed="accepted",
        unsandboxed=put_back("refs/heads/main"),
    ),
    "a_daemon_that_outlives_the_step": Attack(
        "setsid sh -c 'sleep 1; while true; do echo x >> daemon.txt; sleep 0.1; done' </dev/null >/dev/null"
        " 2>&1 &\n" + HONEST,
        sandboxed="accepted",
        check=lambda proj: "daemon.txt" not in git(proj.root, "ls-tree", "-r", "--name-only", proj.branch()),
    ),
    "a_file_name_git_cannot_store": Attack(
        "touch \"$(printf 'bad\\377name.py')\" \"$(printf 'new\\nline.py')\"\n" + HONEST,
        sandboxed="bad\\xffname.py: a file name that is not valid UTF-8",
    ),
    "an_agent_name_with_angle_brackets": Attack(
        HONEST + writes_result({"agent": "Evil <evil@example.com>"}),
        sandboxed="must not contain '<' or '>'",
    ),
    "a_trailer_in_the_summary": Attack(
        HONEST
        + writes_result({"summary": "done\\n\\nConductor-Step: step_999\\nConductor-Provenance: sha256:x"}),
        sandboxed="accepted",
        check=lambda proj: (
            "step_999"
            not in git(proj.root, "log", "-1", "--format=%(trailers:key=Conductor-Step)", proj.branch())
        ),
    ),
    "a_50_MB_summary": Attack(
        HONEST + f"{PYTHON} -c \"import json, os; json.dump({{'task_id': 'step_001', 'attempt': 1, 'status': "
        "'completed', 'summary': 'x' * 50_000_000}, open(os.environ['CONDUCTOR_RESULT_DIR'] + "
        "'/step_001.result.json', 'w'))\"\n",
        sandboxed="over the 1048576-byte limit",
        check=nothing_huge_in_the_ledger,
    ),
    "leak_credentials_through_the_output": Attack(
        HONEST + 'echo "my token is $GITHUB_PAT, the database $DATABASE_URL"\n',
        sandboxed="accepted",
        check=no_credentials_in_the_ledger,
        env={
            "GITHUB_PAT": GITHUB_PAT,
            "DATABASE_URL": f"postgres://app:{DATABASE_PASSWORD}@db.internal:5432/app",
        },
    ),
    "commit_on_the_fork_branch": Attack(
        HONEST + "git add -A && git -c user.name=evil -c user.email=evil@example.com commit -q -m pwned\n",
        sandboxed="accepted",
        check=only_conductors_commit_on_the_branch,
    ),
    "a_result_that_is_a_symlink_to_a_system_file": Attack(
        HONEST + 'ln -s /etc/passwd "$CONDUCTOR_RESULT_DIR/step_001.result.json"\n',
        sandboxed="is a symbolic link",
        check=no_passwd_in_the_ledger,
    ),
}


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_an_attack_is_impossible_or_rejected_and_leaves_nothing_behind(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch, sandbox: str, name: str
) -> None:
    attack = ATTACKS[name]
    for key, value in (attack.env or {}).items():
        monkeypatch.setenv(key, value)
    proj.sandbox(sandbox)
    plan = proj.plan(
        [{"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py", "*.py"]}],
        policy={"behavior": {"max_attempts": 1}},
    )
    marker = f"8675309.{os.getpid()}{sorted(ATTACKS).index(name):02d}"
    pwned = proj.scripts / "pwned"  # what a planted hook or setting would create, if it ever ran
    script = proj.scripts / "hostile.sh"
    script.write_text(
        f"#!/bin/sh\nPWNED={pwned}\nCHECKOUT={proj.root}\n" + LINGER.format(marker=marker) + attack.script
    )
    script.chmod(0o755)
    before = state_of(proj.root)
    result = build(run_cli, proj, plan, str(script))
    expected = attack.unsandboxed if sandbox == "off" and attack.unsandboxed else attack.sandboxed
    if expected == "accepted":
        assert result.code == 0, result.err
    else:
        assert result.code == 1, result.err
        verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
        said = [verdict["reason"], *verdict["evidence"]]
        said += [f"{v['path']}: {v['detail']}" for v in verdict["violations"]]
        assert any(expected in line for line in said), said
    assert processes_with(f"sleep {marker}") == [], "something the step started still runs"
    left = attack.leaves if sandbox == "off" else ()
    if left:  # reported, in the verdict and on the terminal, and left alone
        verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
        assert sorted(verdict["checkout_changed"]) == sorted(left), verdict
        assert "files of your checkout changed while the step ran" in result.err
    after = state_of(proj.root)
    assert {k: v for k, v in after.items() if k not in left} == {
        k: v for k, v in before.items() if k not in left
    }
    git(proj.root, "status")  # what a planted hook or setting would run on: the user's next command
    git(proj.root, "checkout", "-q", "main")
    assert not pwned.exists()
    if attack.check is not None:
        attack.check(proj)
    # the plan ended cleanly: status, explain and clean work on it
    assert run_cli("status").code == 0 and run_cli("explain", "step_001").code == 0
    assert run_cli("clean").code == 0


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")
def test_in_the_sandbox_a_step_cannot_read_the_users_checkout(proj: Project, run_cli) -> None:
    """Uncommitted work, `.git` and the mailbox are out of sight; the worktree and the
    repository's history are not."""
    (proj.root / "wip.py").write_text("UNCOMMITTED = 'the user is still writing this'\n")
    plan = proj.plan([{"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}])
    script = proj.scripts / "reader.sh"
    script.write_text(
        f"#!/bin/sh\nCHECKOUT={proj.root}\n"
        + ROOT_OF_CHECKOUT
        + '{ cat "$root/wip.py" "$root/.git/config"; ls "$root/.conductor/handoff"; git log --oneline;'
        + " } > new.py 2>&1; true\n"
    )
    script.chmod(0o755)
    assert build(run_cli, proj, plan, str(script)).code == 0
    seen = git(proj.root, "show", f"{proj.branch()}:new.py")
    assert "the user is still writing" not in seen and "[core]" not in seen and "plan_" not in seen, seen
    assert f"add {plan}" in seen  # history is readable


def test_without_a_sandbox_changes_to_the_checkout_are_reported_never_reverted(
    proj: Project, run_cli
) -> None:
    """Without the sandbox nobody can tell the user's edits (made while an agent works) from the
    agent's: the checkout's files are reported, in the verdict, on the terminal and by explain,
    and left exactly as they are; the step is judged on its own change."""
    proj.sandbox("off")
    (proj.root / "clean.py").write_text("clean = 1\n")
    git(proj.root, "add", "clean.py")
    git(proj.root, "commit", "-q", "-m", "a file")
    plan = proj.plan(
        [{"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}],
        policy={"behavior": {"max_attempts": 1}},
    )
    users = "UNCOMMITTED = 'the user is still writing this'\n"
    (proj.root / "wip.py").write_text(users)
    script = proj.scripts / "busy.sh"
    script.write_text(
        f"#!/bin/sh\nCHECKOUT={proj.root}\n"
        + ROOT_OF_CHECKOUT
        + 'echo more >> "$root/clean.py"; echo new > "$root/scratch.py"\n'  # as a person at work would
        + HONEST
    )
    script.chmod(0o755)

    result = build(run_cli, proj, plan, str(script))

    assert result.code == 0, result.err
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert verdict["accepted"] and sorted(verdict["checkout_changed"]) == ["clean.py", "scratch.py"]
    assert (proj.root / "clean.py").read_text() == "clean = 1\nmore\n"
    assert (proj.root / "scratch.py").read_text() == "new\n" and (proj.root / "wip.py").read_text() == users
    assert "files of your checkout changed while the step ran" in result.err
    explained = run_cli("explain", "step_001")
    assert (
        "your checkout changed while it ran (left as it is; not judged): clean.py, scratch.py"
        in explained.out
    )
    assert git(proj.root, "show", f"{proj.branch()}:new.py") == "x = 1\n"


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_a_verify_commands_change_to_the_checkout_is_impossible_or_reported(
    proj: Project, run_cli, sandbox: str
) -> None:
    """A plan (which a model may write) can name verify commands: they are watched too."""
    proj.sandbox(sandbox)
    escape = f"echo pwned > {proj.root}/verify-pwned.txt"  # from the worktree to the checkout
    plan = proj.plan(
        [
            {
                "title": "Write new.py",
                "instruction": "Write new.py",
                "allowed_files": ["new.py"],
                "verify": [escape],
            }
        ]
    )
    script = proj.scripts / "honest.sh"
    script.write_text("#!/bin/sh\n" + HONEST)
    script.chmod(0o755)
    before = state_of(proj.root)

    result = build(run_cli, proj, plan, str(script))

    assert result.code == 0, result.err
    if sandbox == "off":  # it ran, and was seen: reported, and left (it could be the user's file)
        assert "files of your checkout changed while the step ran" in result.err, result.err
        assert "verify-pwned.txt" in result.err
        (proj.root / "verify-pwned.txt").unlink()
    # else it wrote into an empty, private tmpfs where the checkout would be
    assert state_of(proj.root) == before
