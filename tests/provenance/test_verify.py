"""Provenance without signatures: the statement per step, the trailer, `conductor verify` and
every kind of tampering it must catch, and the pre-push hook."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conductor.ledger import refs
from tests.conftest import PYTHON, git, run_process
from tests.provenance.tamper import drop_event, flip, rewrite_tip
from tests.scenario import HELLO_STEPS, Project, build

HELLO = {"write": {"hello.py": "def greet(name):\n    return f'Hello, {name}!'\n"}}
TEST = {"write": {"test_hello.py": "import hello\n\nassert hello.greet('a') == 'Hello, a!'\n"}}


@pytest.fixture
def built(prebuilt, run_cli) -> Project:
    """A copy of the project where the two hello steps were built (once per test process)."""

    def make(proj: Project) -> None:
        command = proj.agent({"step_001": [HELLO], "step_002": [TEST]})
        result = build(run_cli, proj, proj.plan(HELLO_STEPS), command)
        assert result.code == 0, result.err
        assert "provenance recorded unsigned: no sigstore identity is available" in result.err

    return prebuilt("hello", make)


def verify_json(run_cli, *args: str) -> tuple[int, dict]:
    """`conductor verify` (every plan) as JSON: the report of the one plan these tests build."""
    result = run_cli("verify", *args, "--json")
    (report,) = json.loads(result.out)["plans"]
    return result.code, report


def failed_checks(data: dict) -> dict[str, list[str]]:
    """step -> names of its failed checks (and chain failures under 'chain')."""
    out: dict[str, list[str]] = {}
    for chain in data["chains"]:
        if not chain["ok"]:
            out.setdefault("chain", []).append(chain["detail"])
    for step in data["steps"]:
        bad = [c["check"] for c in step["checks"] if not c["ok"]]
        if bad:
            out[step["step"]] = bad
    return out


def test_each_accepted_step_has_a_statement_whose_digest_is_the_commit_trailer(built: Project) -> None:
    plan = built.only_plan()
    statement_text = built.record("completed/step_001.provenance.json")
    statement = json.loads(statement_text)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"].startswith("https://conductor.invalid/attestations/step/")
    names = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    result = built.record("completed/step_001.result.json")
    assert names["completed/step_001.result.json"] == hashlib.sha256(result.encode()).hexdigest()
    assert set(next(iter(statement["subject"]))["digest"]) == {"sha256"}  # sigstore accepts no sha1
    predicate = statement["predicate"]
    assert (predicate["plan"], predicate["fork"], predicate["step"], predicate["attempt"]) == (
        plan,
        "main",
        "step_001",
        1,
    )
    task = json.loads(built.record("completed/step_001.task.json"))
    assert predicate["task"]["checksum"] == task["checksum"]
    commits = git(built.root, "log", "--format=%H", f"main..{built.branch()}").split()
    oldest = commits[-1]
    assert predicate["commit"]["tree"] == git(built.root, "rev-parse", f"{oldest}^{{tree}}").strip()
    digest = "sha256:" + hashlib.sha256(statement_text.encode()).hexdigest()
    trailers = git(built.root, "log", "-1", "--format=%(trailers:only,unfold)", oldest)
    assert f"Conductor-Provenance: {digest}" in trailers
    # the payload the statement names is the commit without that line
    raw = git(built.root, "cat-file", "commit", oldest).encode()
    payload = raw.replace(f"Conductor-Provenance: {digest}\n".encode(), b"")
    assert names[f"git-commit-payload:{plan}/main/step_001"] == hashlib.sha256(payload).hexdigest()
    # and the mailbox copy of the finished step carries it too
    box = built.root / ".conductor" / "handoff" / f"plan_{plan}" / "fork_main"
    assert (box / "completed" / "step_001.provenance.json").read_text() == statement_text


def test_verify_passes_on_an_untouched_plan(built: Project, run_cli) -> None:
    code, data = verify_json(run_cli)
    assert code == 0 and data["ok"] is True
    assert [s["step"] for s in data["steps"]] == ["step_001", "step_002"]
    checks = {c["check"] for c in data["steps"][0]["checks"]}
    assert {"task", "records", "statement", "trailer", "commit", "signature"} <= checks
    assert all(not s["signed"] for s in data["steps"])
    text = run_cli("verify", built.only_plan())
    assert text.code == 0 and text.out.strip().endswith("verified")
    assert "main/step_002 (attempt 1, unsigned)" in text.out
    required = run_cli("verify", "--require-signature")
    assert required.code == 1 and "unsigned (an identity is required)" in required.out


@pytest.mark.parametrize(
    ("path", "at", "failing"),
    [
        ("completed/step_001.result.json", 10, {"step_001": ["records"]}),
        ("completed/step_002.explanation.md", -1, {"step_002": ["records"]}),
        ("completed/step_001.task.json", 40, {"step_001": ["task", "records"]}),
        ("evidence/step_001/attempt_1/verify-1.log", 3, {"step_001": ["evidence"]}),
        ("evidence/step_002/attempt_1/verdict.json", 30, {"step_002": ["evidence"]}),
        ("evidence/step_002/policy.json", 5, {"step_002": ["policy"]}),
    ],
)
def test_a_flipped_byte_in_a_record_is_caught(
    built: Project, run_cli, path: str, at: int, failing: dict[str, list[str]]
) -> None:
    rewrite_tip(built.root, refs.fork_log(built.only_plan(), "main"), path, lambda data: flip(data, at))
    result = run_cli("verify")
    assert result.code == 1
    _, data = verify_json(run_cli)
    assert failed_checks(data) == failing
    assert path in result.out or "task" in failing.get("step_001", [])


@pytest.mark.parametrize("at", [3, 100, 400, -20])
def test_a_flipped_byte_anywhere_in_a_statement_is_caught(built: Project, run_cli, at: int) -> None:
    path = "completed/step_002.provenance.json"
    rewrite_tip(built.root, refs.fork_log(built.only_plan(), "main"), path, lambda data: flip(data, at))
    code, data = verify_json(run_cli)
    assert code == 1
    failures = failed_checks(data)
    assert list(failures) == ["step_002"]
    # either the statement no longer parses, or its digest no longer matches the commit's trailer
    assert failures["step_002"] == ["statement"] or "trailer" in failures["step_002"]


def test_redacted_evidence_still_verifies(proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_API_KEY", "sk-very-secret-value-123")
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nsandbox:\n  env: [DEMO_API_KEY]\n")  # named: it passes
    git(proj.root, "commit", "-qam", "the verify command gets the key")
    steps = [dict(HELLO_STEPS[0], verify=[f"{PYTHON} -c \"import os; print(os.environ['DEMO_API_KEY'])\""])]
    result = build(run_cli, proj, proj.plan(steps), proj.agent({"step_001": [HELLO]}))
    assert result.code == 0, result.err
    log = proj.record("evidence/step_001/attempt_1/verify-1.log")
    assert "sk-very-secret-value-123" not in log and "DEMO_API_KEY" in log
    assert run_cli("verify").code == 0


def test_a_statement_moved_to_another_step_is_caught(built: Project, run_cli) -> None:
    first = built.record("completed/step_001.provenance.json").encode()
    rewrite_tip(
        built.root,
        refs.fork_log(built.only_plan(), "main"),
        "completed/step_002.provenance.json",
        lambda _: first,
    )
    result = run_cli("verify")
    assert result.code == 1
    assert "statement: names " in result.out and "/main/step_001/1, not " in result.out
    _, data = verify_json(run_cli)
    assert set(failed_checks(data)["step_002"]) >= {"statement", "trailer", "commit"}


def test_a_deleted_statement_or_dropped_event_is_caught(built: Project, run_cli) -> None:
    ref = refs.fork_log(built.only_plan(), "main")
    original = git(built.root, "rev-parse", ref).strip()
    rewrite_tip(built.root, ref, "completed/step_001.provenance.json", lambda _: None)
    _, data = verify_json(run_cli)
    assert failed_checks(data) == {"step_001": ["statement"]}
    git(built.root, "update-ref", ref, original)  # put it back
    assert verify_json(run_cli)[0] == 0
    drop_event(built.root, ref, back=2)
    _, data = verify_json(run_cli)
    assert "event numbers are not 1.." in failed_checks(data)["chain"][0]


def test_a_rewritten_code_commit_is_caught(built: Project, run_cli) -> None:
    branch = built.branch()
    worktree = built.worktree()  # where the branch is checked out
    (worktree / "test_hello.py").write_text("print('no test at all')\n")
    git(worktree, "commit", "-q", "-a", "--amend", "--no-edit")  # same message and trailers
    result = run_cli("verify")
    assert result.code == 1
    assert f"the branch {branch} does not contain it" in result.out


def test_verify_without_plans_says_so(proj: Project, run_cli) -> None:
    result = run_cli("verify")
    assert result.code == 1 and "no plans are recorded in this repository" in result.err


def test_verify_errors_name_the_plan_and_fork(built: Project, run_cli) -> None:
    missing = run_cli("verify", "no-such-plan")
    assert missing.code == 1 and "no plan no-such-plan is recorded" in missing.err
    fork = run_cli("verify", built.only_plan(), "--fork", "zzz")
    assert fork.code == 1 and "has no fork zzz" in fork.err and "its forks: main" in fork.err
    half = run_cli("verify", "--identity", "someone@example.com")
    assert half.code == 2 and "--identity and --issuer go together" in half.err


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_pre_push_hook_refuses_a_branch_whose_provenance_does_not_verify(
    built: Project, run_cli, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(built.root, "remote", "add", "origin", str(remote))
    installed = run_cli("hooks", "install", "--pre-push")
    assert installed.code == 0 and "pre-push: installed" in installed.out
    branch = built.branch()
    pushed = run_process("git", "push", "-q", "origin", branch, "main", cwd=built.root)
    assert pushed.code == 0, pushed.err
    assert "provenance of 1 fork verified" in pushed.err
    assert git(remote, "rev-parse", branch) == git(built.root, "rev-parse", branch)

    plan = built.only_plan()
    rewrite_tip(
        built.root, refs.fork_log(plan, "main"), "completed/step_001.result.json", lambda d: flip(d, 5)
    )
    git(built.worktree(), "commit", "-q", "--allow-empty", "-m", "a reviewer's commit")
    before = git(remote, "rev-parse", branch)
    refused = run_process("git", "push", "-q", "origin", branch, cwd=built.root)
    assert refused.code != 0
    assert "completed/step_001.result.json: sha256" in refused.err
    assert "push refused" in refused.err
    assert git(remote, "rev-parse", branch) == before
    # pushing other branches is not checked; deleting the branch is allowed
    assert run_process("git", "push", "-q", "origin", "main", cwd=built.root).code == 0
    assert run_process("git", "push", "-q", "origin", f":{branch}", cwd=built.root).code == 0
    removed = run_cli("hooks", "uninstall")
    assert "pre-push: removed" in removed.out


def test_a_commit_on_top_of_the_last_accepted_step_fails_unless_allowed(built: Project, run_cli) -> None:
    git(built.worktree(), "commit", "-q", "--allow-empty", "-m", "sneaked in")
    code, data = verify_json(run_cli)
    assert code == 1
    (branch,) = data["branches"]
    assert (
        not branch["ok"]
        and "1 commit on top of the last accepted step is attested by nothing" in branch["detail"]
    )
    assert "sneaked in" in branch["detail"] and all(s["ok"] for s in data["steps"])
    text = run_cli("verify")
    assert "FAIL branch main" in text.out and "1 check failed" in text.out
    code, data = verify_json(run_cli, "--allow-reviewer-commits")
    assert code == 0 and "1 reviewer commit on top" in data["branches"][0]["detail"]
    assert "sneaked in" in data["branches"][0]["detail"]


def test_a_branch_that_lost_its_last_accepted_step_fails(built: Project, run_cli) -> None:
    previous = git(built.root, "rev-parse", f"{built.branch()}~1").strip()
    git(built.root, "update-ref", f"refs/heads/{built.branch()}", previous)  # checked out in the worktree
    code, data = verify_json(run_cli)
    assert code == 1 and "does not contain its last accepted step" in data["branches"][0]["detail"]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_pre_push_warns_when_a_fork_branch_leaves_its_records_behind(
    built: Project, run_cli, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(built.root, "remote", "add", "origin", str(remote))
    assert run_cli("hooks", "install", "--pre-push").code == 0
    plan, branch = built.only_plan(), built.branch()
    alone = run_process("git", "push", "-q", "origin", branch, cwd=built.root)
    assert alone.code == 0, alone.err  # a warning, not a refusal
    assert "records of these forks stay behind" in alone.err
    assert refs.plan_log(plan) in alone.err and refs.fork_log(plan, "main") in alone.err
    assert "git push origin 'refs/conductor/*:refs/conductor/*'" in alone.err
    with_records = run_process(
        "git", "push", "-q", "origin", branch, "refs/conductor/*:refs/conductor/*", cwd=built.root
    )
    assert with_records.code == 0 and "stay behind" not in with_records.err
    # once the remote has them, pushing the branch again needs no warning
    git(built.worktree(), "commit", "-q", "--allow-empty", "-m", "more")
    again = run_process("git", "push", "-q", "origin", branch, cwd=built.root)
    assert "stay behind" not in again.err


def test_verify_reports_the_checks_of_its_list_in_order_and_one_added_runs(
    built: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks of a step are a list of named checks: their names, in order, are what verify
    reports; one appended to the list is all it takes for verify to run and report it."""
    from conductor.provenance import attestation

    names = [name for name, _ in attestation.STEP_CHECKS]
    _, data = verify_json(run_cli)
    for step in data["steps"]:
        assert list(dict.fromkeys(c["check"] for c in step["checks"])) == names

    def reviewed(step: attestation.Accepted) -> list[tuple[bool, str]]:
        return [(False, f"{step.step}: no reviewer signed it off")]

    monkeypatch.setattr(attestation, "STEP_CHECKS", (*attestation.STEP_CHECKS, ("reviewed", reviewed)))
    code, data = verify_json(run_cli)
    assert code == 1
    assert [step["checks"][-1] for step in data["steps"]] == [
        {"check": "reviewed", "ok": False, "detail": f"{s}: no reviewer signed it off"}
        for s in ("step_001", "step_002")
    ]
