"""Every rejection of point 5: the seed's failure name and recovery hint, the worktree reset to
the fork tip, the rejected patch kept as evidence, and the user's checkout untouched."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import PYTHON, SANDBOX_MODES, git
from tests.scenario import Project, build


@dataclass
class Case:
    actions: list[dict[str, Any]]
    failure: str  # the failure name the event summary starts with
    reason: str  # words in the reason
    allowed: list[str] = field(default_factory=lambda: ["app.py", "new.py"])
    event: str = "task.rejected"
    in_patch: str | None = None  # a path the kept patch must mention
    step: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    unsandboxed: bool = False  # an attack the sandbox makes impossible: tried without it


CASES = {
    "outside_allowed_files": Case(
        [{"write": {"other.py": "x\n"}}],
        "Constraint violation",
        "other.py: added: not in allowed_files",
        in_patch="other.py",
    ),
    "protected_added": Case(
        [{"write": {"new.lock": "x\n"}}],
        "Constraint violation",
        "new.lock: added: protected by '*.lock'",
        allowed=["**"],
        in_patch="new.lock",
    ),
    "protected_modified": Case(
        [{"write": {"poetry.lock": "changed\n"}}],
        "Constraint violation",
        "poetry.lock: modified: protected by '*.lock'",
        allowed=["**"],
        in_patch="poetry.lock",
    ),
    "protected_deleted": Case(
        [{"delete": ["migrations/0001.py"]}],
        "Constraint violation",
        "migrations/0001.py: deleted: protected by 'migrations/*'",
        allowed=["**"],
        in_patch="migrations/0001.py",
    ),
    "renamed_into_protection": Case(
        [{"rename": [["app.py", "migrations/0002.py"]]}],
        "Constraint violation",
        "migrations/0002.py: renamed (renamed into it)",
        allowed=["**"],
        in_patch="migrations/0002.py",
    ),
    "renamed_out_of_protection": Case(
        [{"rename": [["poetry.lock", "poetry.txt"]]}],
        "Constraint violation",
        "poetry.lock: renamed (renamed out of it)",
        allowed=["**"],
        in_patch="poetry.lock",
    ),
    "result_path_escapes": Case(
        [{"write": {"app.py": "x\n"}}, {"result": {"files_changed": ["../outside.py"]}}],
        "Constraint violation",
        "contains '..'",
        in_patch="app.py",
    ),
    "result_absolute_path": Case(
        [{"write": {"app.py": "x\n"}}, {"result": {"files_changed": ["/etc/passwd"]}}],
        "Constraint violation",
        "is absolute",
    ),
    "symlink_outside": Case(
        [{"symlink": [["new.py", "../../../../etc/passwd"]]}],
        "Constraint violation",
        "symlink pointing outside the worktree",
        in_patch="new.py",
    ),
    "symlink_absolute": Case(
        [{"symlink": [["new.py", "/etc/passwd"]]}], "Constraint violation", "symlink to an absolute path"
    ),
    "writes_under_git_link": Case(
        [{"write": {".git": "gitdir: /tmp/elsewhere\n"}}],
        "Constraint violation",
        "the worktree's .git link was changed",
        unsandboxed=True,
    ),
    "nested_repository": Case(
        [{"write": {"vendor/a.py": "x\n"}}], "Constraint violation", "vendor", allowed=["**"]
    ),
    "nested_repository_with_commits": Case(
        [{"write": {"new.py": "x\n"}}], "Constraint violation", "adds a nested git repository", allowed=["**"]
    ),
    "diff_too_large": Case(
        [{"write": {"new.py": "x = 1\n" * 30}}],
        "Constraint violation",
        "30 changed lines (added + removed) exceed behavior.max_diff_lines 10",
        policy={"behavior": {"max_diff_lines": 10}},
        in_patch="new.py",
    ),
    "too_many_files": Case(
        [{"write": {"app.py": "x\n", "new.py": "y\n"}}],
        "Constraint violation",
        "2 changed files exceed behavior.max_files_changed 1",
        policy={"behavior": {"max_files_changed": 1}},
    ),
    "timeout": Case(
        [{"write": {"new.py": "x\n"}}, {"sleep": 30}],
        "Task timeout",
        "no result within timeout_seconds=1",
        event="task.timed_out",
        step={"timeout_seconds": 1},
        in_patch="new.py",
    ),
    "checksum_mismatch": Case(
        [{"write": {"new.py": "x\n"}}, {"tamper": True}],
        "Checksum mismatch",
        "differs from the one handed out",
        in_patch="new.py",
        unsandboxed=True,
    ),
    "stale_attempt": Case(
        [{"write": {"new.py": "x\n"}}, {"result": {"attempt": 7}}], "Stale result", "not step_001 attempt 1"
    ),
    "invalid_json": Case(
        [{"write": {"new.py": "x\n"}}, {"result": "invalid"}], "Invalid result", "Invalid JSON"
    ),
    "not_the_schema": Case(
        [{"write": {"new.py": "x\n"}}, {"result": {"status": "done"}}], "Invalid result", "status"
    ),
    "verify_fails": Case(
        [{"write": {"new.py": "raise SystemExit(3)\n"}}],
        "Verification failed",
        f"`{PYTHON} new.py` exited with 3",
        step={"verify": [f"{PYTHON} new.py"]},
        in_patch="new.py",
    ),
    "verify_times_out": Case(
        [{"write": {"new.py": "import time\ntime.sleep(30)\n"}}],
        "Verification failed",
        "timed out",
        step={"verify": [f"{PYTHON} new.py"]},
        policy={"verify": {"timeout_seconds": 1}},
    ),
    "executor_reports_failure": Case(
        [{"write": {"new.py": "x\n"}}, {"result": {"status": "failed", "summary": "could not do it"}}],
        "Executor failed",
        "could not do it",
        event="task.failed",
    ),
    "command_exits_non_zero": Case(
        [{"write": {"new.py": "x\n"}}, {"exit": 4}],
        "Executor failed",
        "exited with code 4",
        event="task.failed",
    ),
}


WAITS_A_TIMEOUT = {"timeout", "verify_times_out"}  # each waits out a one-second timeout: slow tier


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in WAITS_A_TIMEOUT else n for n in sorted(CASES)]
)
def test_rejection(proj: Project, run_cli, name: str) -> None:
    case = CASES[name]
    step = {"title": "Change things", "instruction": "Do it", "allowed_files": case.allowed, **case.step}
    policy = {"behavior": {"max_attempts": 1}}
    for key, value in case.policy.items():
        policy.setdefault(key, {}).update(value)
    if case.unsandboxed:
        proj.sandbox("off")
    plan = proj.plan([step], policy=policy)
    script = {"step_001": case.actions}
    command = proj.agent(script)
    if name == "nested_repository":
        command = f"git init -q vendor && {command}"
    if name == "nested_repository_with_commits":
        command = (
            "git init -q vendor && git -C vendor -c user.name=a -c user.email=a@b commit -q"
            f" --allow-empty -m x && {command}"
        )
    user_head = git(proj.root, "rev-parse", "HEAD")
    user_status = git(proj.root, "status", "--porcelain")
    result = build(run_cli, proj, plan, command)
    assert result.code == 1, result.err

    events = proj.events()
    verdicts = [e for e in events if e.type.value == case.event]
    assert len(verdicts) == 1, [e.type.value for e in events]
    verdict = verdicts[0]
    assert verdict.summary.startswith(f"{case.failure}:"), verdict.summary
    assert case.reason in verdict.summary or case.reason in proj.record(
        "evidence/step_001/attempt_1/verdict.json"
    ), verdict.summary
    assert verdict.data["hint"], verdict.data
    assert events[-1].type.value == "fork.failed"

    # the evidence is in the ledger
    recorded = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert recorded["accepted"] is False and recorded["failure"] == case.failure and recorded["hint"]
    if case.in_patch:
        assert case.in_patch in proj.record("evidence/step_001/attempt_1/rejected.patch")

    # the worktree is back at the fork tip, which is still the base
    worktree = proj.worktree()
    assert git(worktree, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(worktree, "rev-parse", "HEAD") == git(proj.root, "rev-parse", proj.branch()) == user_head
    # the user's checkout is untouched
    assert git(proj.root, "rev-parse", "HEAD") == user_head
    assert git(proj.root, "status", "--porcelain") == user_status
    assert (proj.root / "poetry.lock").read_text() == "locked\n"

    # explain shows the failure, its cause and the recovery
    explained = run_cli("explain", "step_001")
    assert explained.code == 0
    assert f"REJECTED: {case.failure}" in explained.out and "recovery:" in explained.out


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_a_hook_planted_by_a_step_never_stays(proj: Project, run_cli, sandbox: str) -> None:
    proj.sandbox(sandbox)
    hook = proj.root / ".git" / "hooks" / "post-checkout"
    step = {"title": "t", "instruction": "i", "allowed_files": ["new.py"]}
    plan = proj.plan([step], policy={"behavior": {"max_attempts": 1}})
    command = proj.agent({"*": [{"write": {"new.py": "x\n"}}]})
    result = build(run_cli, proj, plan, f"printf '#!/bin/sh\\n' > {hook} ; {command}")
    assert not hook.exists()
    if sandbox == "auto":  # the repository's .git is out of sight: the write went nowhere
        assert result.code == 0, result.err
        return
    assert result.code == 1
    verdict = proj.record("evidence/step_001/attempt_1/verdict.json")
    assert ".git/hooks/post-checkout: changed outside the worktree while the step ran (put back)" in verdict
    assert "put back what the step changed: .git/hooks/post-checkout" in result.err


def test_a_check_added_to_the_list_runs_in_its_place(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks of an attempt are a list of named checks run in order: one appended to it is
    all it takes for it to judge every attempt (here it rejects one the others accept)."""
    from conductor.engine.failures import FailureKind
    from conductor.runner.fork import inspection

    assert [name for name, _ in inspection.CHECKS] == [
        "result", "task", "attempt", "paths", "status", "change", "size"
    ]  # fmt: skip
    seen: list[str] = []

    def ticket(attempt: inspection.Attempt) -> inspection.Verdict | None:
        seen.append(attempt.step)
        return inspection.Verdict(FailureKind.CONSTRAINT, "the result names no ticket")

    monkeypatch.setattr(inspection, "CHECKS", (*inspection.CHECKS, ("ticket", ticket)))
    step = {"title": "t", "instruction": "i", "allowed_files": ["new.py"]}
    plan = proj.plan([step], policy={"behavior": {"max_attempts": 1}})
    result = build(run_cli, proj, plan, proj.agent({"*": [{"write": {"new.py": "x\n"}}]}))
    assert result.code == 1 and seen == ["step_001"]
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert verdict["accepted"] is False and "the result names no ticket" in json.dumps(verdict)
