"""Secrets stay out of the ledger: recognized by name, by format, or because the policy names them."""

from __future__ import annotations

import subprocess

import pytest

from conductor.secrets import Redactor, credential_parts
from tests.conftest import PYTHON
from tests.scenario import Project, build

GITHUB_PAT = "ghp_" + "Zq4" * 12
FINE_GRAINED = "github_pat_11ABCDEFG0" + "x" * 60
AWS = "AKIAIOSFODNN7EXAMPL3"
GOOGLE = "AIza" + "Sy" * 17 + "Q"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
OPENAI = "sk-proj-" + "R7x" * 15
PASSWORD = "correct-horse-battery"
DATABASE_URL = f"postgres://app:{PASSWORD}@db.internal:5432/app"


@pytest.mark.parametrize("value", [GITHUB_PAT, FINE_GRAINED, AWS, GOOGLE, JWT, OPENAI, DATABASE_URL])
def test_a_credential_is_recognized_by_its_format(value: str) -> None:
    assert credential_parts(value)[0] == value


@pytest.mark.parametrize(
    "value",
    ["/usr/local/bin:/usr/bin:/bin", "/home/dev", "en_US.UTF-8", "xterm-256color", "https://example.com/x"],
)
def test_ordinary_values_are_not_credentials(value: str) -> None:
    assert credential_parts(value) == []


def test_the_redactor_takes_names_formats_the_policy_and_the_password_of_a_url() -> None:
    env = {
        "GITHUB_PAT": GITHUB_PAT,  # a name that does not say "token"
        "DATABASE_URL": DATABASE_URL,
        "DEPLOY_HOOK": "plain-but-declared-value",
        "MY_API_KEY": "by-its-name-1234",
        "PATH": "/usr/bin:/bin",
        "SHORT_TOKEN": "abc",
    }
    redact = Redactor.from_env(env, names=["DEPLOY_HOOK"])
    text = f"{GITHUB_PAT} {DATABASE_URL} {PASSWORD} plain-but-declared-value by-its-name-1234 /usr/bin abc"
    assert redact.text(text) == (
        "[redacted:$GITHUB_PAT] [redacted:$DATABASE_URL] [redacted:$DATABASE_URL#1]"
        " [redacted:$DEPLOY_HOOK] [redacted:$MY_API_KEY] /usr/bin abc"
    )
    assert redact.data(text.encode()) == redact.text(text).encode()


def test_no_secret_of_the_environment_reaches_any_git_object(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_PAT", GITHUB_PAT)
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("DEPLOY_HOOK", "declared-in-the-policy-only")
    policy = proj.root / ".conductor" / "policy.yaml"
    # named exactly, so that the commands get them (docs/security.md): then nothing they print is kept
    policy.write_text(
        policy.read_text()
        + "\nsecrets:\n  env: [DEPLOY_HOOK]\nsandbox:\n  env: [GITHUB_PAT, DATABASE_URL, DEPLOY_HOOK]\n"
    )
    subprocess.run(["git", "commit", "-qam", "declare a secret"], cwd=proj.root, check=True)
    leak = "$GITHUB_PAT $DATABASE_URL $DEPLOY_HOOK"
    steps = [
        {
            "title": "Write new.py",
            "instruction": "Write new.py",
            "allowed_files": ["new.py"],
            "verify": [f"echo {leak}", f"{PYTHON} -c 'import os; print(os.environ)'"],
        }
    ]
    agent = proj.scripts / "leaky_agent.py"
    agent.write_text(
        "import json, os, pathlib\n"
        "leak = ' '.join(os.environ[k] for k in ('GITHUB_PAT', 'DATABASE_URL', 'DEPLOY_HOOK'))\n"
        "pathlib.Path('new.py').write_text('x = 1\\n')\n"
        "out = pathlib.Path(os.environ['CONDUCTOR_RESULT_DIR'])\n"
        "(out / 'step_001.explanation.md').write_text('Used ' + leak)\n"
        "result = {'task_id': 'step_001', 'attempt': 1, 'status': 'completed', 'summary': 'with ' + leak}\n"
        "(out / 'step_001.result.json').write_text(json.dumps(result))\n"
    )
    script = proj.scripts / "leak.sh"
    script.write_text(f"#!/bin/sh\necho {leak}\nexec {PYTHON} {agent}\n")
    script.chmod(0o755)
    result = build(run_cli, proj, proj.plan(steps), str(script))
    assert result.code == 0, result.err
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=proj.root, capture_output=True, check=True
    ).stdout
    for secret in (GITHUB_PAT, DATABASE_URL, PASSWORD, "declared-in-the-policy-only"):
        assert secret.encode() not in objects
    assert "[redacted:$GITHUB_PAT]" in proj.record("evidence/step_001/attempt_1/verify-1.log")
