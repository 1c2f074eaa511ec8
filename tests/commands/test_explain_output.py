"""`conductor explain` shows what the agent said — its explanation — and, for a failed attempt,
what the executor's process printed: kept in the ledger as evidence, cut to its last 4 KB per
stream and redacted (docs/storage.md, docs/lifecycle.md)."""

from __future__ import annotations

import json
import subprocess

from conductor.runner.logs.records import OUTPUT_KEEP
from tests.conftest import PYTHON, git
from tests.scenario import Project, build

STEP = {"title": "Write notes", "instruction": "Write notes.md", "allowed_files": ["notes.md"]}
ONCE = {"behavior": {"max_attempts": 1}}
SECRET = "declared-deploy-hook-value-0123456789"


def agent(proj: Project, body: str, name: str = "agent.py") -> str:
    """A command agent: a Python script run with the step's environment."""
    path = proj.scripts / name
    path.write_text("import json, os, pathlib, sys\n" + body)
    return f"{PYTHON} {path}"


def test_explain_shows_the_failed_attempts_stderr_and_stdout(proj: Project, run_cli) -> None:
    command = agent(proj, "print('working on it')\nprint('my secret plan', file=sys.stderr)\nsys.exit(1)\n")
    assert build(run_cli, proj, proj.plan([STEP], policy=ONCE), command).code == 1
    assert proj.record("evidence/step_001/attempt_1/stderr.log") == "my secret plan\n"
    assert proj.record("evidence/step_001/attempt_1/stdout.log") == "working on it\n"
    text = run_cli("explain", "step_001").out
    assert "REJECTED: Executor failed" in text
    stderr_at = text.index("  the executor's stderr (its end, redacted):\n    | my secret plan\n")
    stdout_at = text.index("  the executor's stdout (its end, redacted):\n    | working on it\n")
    assert stderr_at < stdout_at
    data = json.loads(run_cli("explain", "step_001", "--json").out)
    (attempt,) = data["attempts"]
    assert attempt["output"] == {"stderr": "my secret plan\n", "stdout": "working on it\n"}
    assert "evidence/step_001/attempt_1/stderr.log" in attempt["evidence_files"]


def test_explain_shows_the_agents_explanation_and_the_confidence_level(proj: Project, run_cli) -> None:
    body = (
        "pathlib.Path('notes.md').write_text('# notes\\n')\n"
        "out = pathlib.Path(os.environ['CONDUCTOR_RESULT_DIR'])\n"
        "(out / 'step_001.explanation.md').write_text('I chose X because Y.\\nAnd nothing else.\\n')\n"
        "result = {'task_id': 'step_001', 'attempt': 1, 'status': 'completed', 'summary': 'notes'}\n"
        "(out / 'step_001.result.json').write_text(json.dumps(result))\n"
    )
    checked = {**STEP, "verify": ["test -f notes.md"]}
    assert build(run_cli, proj, proj.plan([checked]), agent(proj, body)).code == 0
    text = run_cli("explain", "step_001").out
    assert "  explanation:\n    > I chose X because Y.\n    > And nothing else.\n" in text
    assert "the executor's" not in text  # its output is shown for failed attempts only
    data = json.loads(run_cli("explain", "step_001", "--json").out)
    assert data["attempts"][0]["explanation"] == "I chose X because Y.\nAnd nothing else.\n"
    # the level is shown for every step; a MEDIUM one says what it means
    confidence = data["confidence"]
    assert confidence["level"] == "medium" and confidence["meaning"] == "proceed with caution"
    assert f"Confidence: MEDIUM {confidence['score']:.2f} — proceed with caution" in text
    assert f"  confidence MEDIUM {confidence['score']:.2f} — proceed with caution:" in text
    step_line = next(ln for ln in run_cli("status").out.splitlines() if ln.split()[:1] == ["step_001"])
    assert step_line.split() == ["step_001", "completed", "·", "MEDIUM", f"{confidence['score']:.2f}"]


def test_a_declared_secret_in_the_agents_stderr_is_redacted_in_the_ledger_and_explain(
    proj: Project, run_cli, monkeypatch
) -> None:
    monkeypatch.setenv("DEPLOY_HOOK", SECRET)
    policy = proj.root / ".conductor" / "policy.yaml"
    named = "\nsecrets:\n  env: [DEPLOY_HOOK]\nsandbox:\n  env: [DEPLOY_HOOK]\n"  # passed: named exactly
    policy.write_text(policy.read_text() + named)
    git(proj.root, "commit", "-qam", "declare a secret")
    # the secret, then just enough that a 4 KB cut of the raw text would fall inside it (and
    # keep a fragment no redactor recognizes): it is redacted first, then cut
    body = (
        "sys.stderr.write('leaking ' + os.environ['DEPLOY_HOOK'] + '\\n')\n"
        f"sys.stderr.write('y' * {OUTPUT_KEEP - 66} + '\\n')\n"
        "sys.stderr.write('again ' + os.environ['DEPLOY_HOOK'] + '\\n')\n"
        "sys.exit(3)\n"
    )
    assert build(run_cli, proj, proj.plan([STEP], policy=ONCE), agent(proj, body)).code == 1
    kept = proj.record("evidence/step_001/attempt_1/stderr.log")
    assert "again [redacted:$DEPLOY_HOOK]" in kept
    assert kept.count("[redacted:$DEPLOY_HOOK]") == 2 and SECRET[-10:] not in kept
    for shown in (run_cli("explain", "step_001").out, run_cli("explain", "step_001", "--json").out):
        assert "again [redacted:$DEPLOY_HOOK]" in shown and SECRET not in shown
    objects = subprocess.run(
        ["git", "grep", "-l", SECRET, *git(proj.root, "for-each-ref", "--format=%(refname)").split()],
        cwd=proj.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert objects.stdout == ""


def test_a_megabyte_of_stderr_is_cut_to_its_last_4_kb(proj: Project, run_cli) -> None:
    body = (
        "for i in range(20000):\n"
        "    print(f'noise line {i:06d} ' + 'z' * 40, file=sys.stderr)\n"  # ~1 MB
        "print('the last words', file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    assert build(run_cli, proj, proj.plan([STEP], policy=ONCE), agent(proj, body)).code == 1
    kept = proj.record("evidence/step_001/attempt_1/stderr.log")
    assert kept.startswith("[... earlier output not kept ...]\n")
    assert len(kept.encode()) <= OUTPUT_KEEP + len("[... earlier output not kept ...]\n")
    assert kept.endswith("the last words\n") and "noise line 019999" in kept
    assert "noise line 000000" not in kept
    text = run_cli("explain", "step_001").out
    assert "    | the last words" in text and "earlier lines (--json has them)" in text
    assert len(text) < 40_000
    output = json.loads(run_cli("explain", "step_001", "--json").out)["attempts"][0]["output"]
    assert output["stderr"] == kept
