"""A thief after credentials (issue 19): with the sandbox on, an agent — and the verify commands
of a plan a model wrote — gets none of the user's secrets: not the credential variables of the
environment, not the credential files of the home, not the ssh-agent or any other host socket.
Without the sandbox the environment is still by allowlist (the files are the user's to protect:
docs/security.md)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import NO_SANDBOX, PYTHON, SANDBOX_MODES, git
from tests.scenario import Project

MARK = "THIEF-CANARY-7f3a"
SECRET_VARIABLES = {
    "GITHUB_TOKEN": f"ghp_{MARK}1",
    "GEMINI_API_KEY": f"{MARK}2",
    "OPENAI_API_KEY": f"sk-{MARK}3",
    "AWS_SECRET_ACCESS_KEY": f"{MARK}4",
    "MY_SERVICE_PASSWORD": f"{MARK}5",
    "SSH_AUTH_SOCK": "",  # set to the listening socket below
}
CREDENTIAL_FILES = {
    ".ssh/id_ed25519": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{MARK}6\n",
    ".git-credentials": f"https://user:{MARK}7@github.com\n",
    ".netrc": f"machine example.com login me password {MARK}8\n",
    ".config/gh/hosts.yml": f"github.com:\n  oauth_token: {MARK}9\n",
    ".aws/credentials": f"[default]\naws_secret_access_key = {MARK}10\n",
}

# Takes what it can: the environment, the files by their absolute paths, the ssh-agent socket,
# and an abstract unix socket (no file hides it: it lives in the network namespace).
THIEF = """
import hashlib, json, os, socket, sys
from pathlib import Path
home, sock, files, abstract = sys.argv[1], sys.argv[2], sys.argv[3] == "files", sys.argv[4]
# the variables by a digest of their values (a change holding a secret's value is refused)
loot = {"env": {k: hashlib.sha256(v.encode()).hexdigest() for k, v in os.environ.items()}}
for name in %r if files else []:
    try:
        loot[name] = Path(home, name).read_text()
    except OSError as exc:
        loot[name] = "unreadable: " + type(exc).__name__
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(b"stolen")
    loot["socket"] = "connected"
except OSError as exc:
    loot["socket"] = "refused: " + type(exc).__name__
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect("\\0" + abstract)
    loot["abstract"] = "connected"
except OSError as exc:
    loot["abstract"] = "refused: " + type(exc).__name__
Path("stolen.json").write_text(json.dumps(loot))
"""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Listener:
    """A unix socket standing for the ssh-agent: counts who connects."""

    def __init__(self, path: Path | str) -> None:
        self.path = path  # a str: an abstract socket's name
        self.address = str(path) if isinstance(path, Path) else "\0" + path
        self.connections = 0
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.address)
        self.server.listen(5)
        self.server.settimeout(0.2)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            conn.close()
            if not self.done.is_set():  # else it is close() waking it up
                self.connections += 1

    def close(self) -> None:
        self.done.set()
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as wake:
            wake.connect(self.address)  # rather than wait for accept() to time out
        self.thread.join(2)
        self.server.close()


@pytest.fixture
def victim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The user's home with credential files, their environment with credential variables, and
    an ssh-agent socket."""
    home = Path(os.environ["HOME"])
    for name, content in CREDENTIAL_FILES.items():
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    sockets = tmp_path / "ssh-agent"
    sockets.mkdir()
    listener = Listener(sockets / "agent.sock")
    abstract = Listener(f"conductor-thief-{os.getpid()}-{tmp_path.name}")
    for name, value in SECRET_VARIABLES.items():
        monkeypatch.setenv(name, value or str(listener.path))
    yield home, listener, abstract
    listener.close()
    abstract.close()
    for name in CREDENTIAL_FILES:
        (home / name).unlink()


def run_thief(
    proj: Project, run_cli, home: Path, listener: Listener, abstract: Listener, *, files: bool = True
) -> dict[str, object]:
    thief = proj.scripts / "thief.py"
    thief.write_text(THIEF % (list(CREDENTIAL_FILES),))
    steps = [
        {
            "title": "Steal",
            "instruction": "Write stolen.json",
            "allowed_files": ["stolen.json"],
            # a plan may come from a model: its verify commands are as hostile as the agent
            "verify": [f'{PYTHON} -c "import os; print(sorted(os.environ.items()))"'],
        }
    ]
    result = run_cli(
        "build",
        "--plan",
        proj.plan(steps),
        "--exec",
        f"{PYTHON} {thief} {home} {listener.path} {'files' if files else 'env'} {abstract.path}",
        "--yes",
    )
    assert result.code == 0, result.err
    return dict(json.loads(git(proj.root, "show", f"{proj.branch()}:stolen.json")))


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")
def test_in_the_sandbox_a_thief_gets_no_credential(proj: Project, run_cli, victim) -> None:
    home, listener, abstract = victim
    loot = run_thief(proj, run_cli, home, listener, abstract)

    text = json.dumps(loot)
    assert MARK not in text, text
    env = dict(loot["env"])  # type: ignore[arg-type]
    assert not set(SECRET_VARIABLES) & set(env)
    assert env["HOME"] != digest(str(home))  # a home of its own, for the step
    for name in CREDENTIAL_FILES:
        assert str(loot[name]).startswith("unreadable"), (name, loot[name])
    assert str(loot["socket"]).startswith("refused") and listener.connections == 0
    # the network is shared (an --exec command's default): no unix socket can be made at all
    assert loot["abstract"] == "refused: PermissionError" and abstract.connections == 0
    # nor did the verify command see any: its output is evidence in the ledger
    assert MARK not in proj.record("evidence/step_001/attempt_1/verify-1.log")


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_no_credential_variable_reaches_a_command_unless_named(
    proj: Project, run_cli, victim, sandbox: str
) -> None:
    home, listener, abstract = victim
    proj.sandbox(sandbox)
    loot = run_thief(proj, run_cli, home, listener, abstract, files=False)
    env = dict(loot["env"])  # type: ignore[arg-type]
    assert not set(SECRET_VARIABLES) & set(env), sorted(env)
    assert "PATH" in env and "CONDUCTOR_STEP" in env


def test_sandbox_env_names_what_passes(
    proj: Project, run_cli, victim, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, listener, abstract = victim
    monkeypatch.setenv("MY_SETTING", "plain")
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nsandbox:\n  env: [MY_*, OPENAI_API_KEY]\n")
    git(proj.root, "commit", "-qam", "pass two")
    loot = run_thief(proj, run_cli, home, listener, abstract, files=False)
    env = dict(loot["env"])  # type: ignore[arg-type]
    assert env["MY_SETTING"] == digest("plain")  # the glob passes a plain variable
    assert "MY_SERVICE_PASSWORD" not in env  # but not a secret-looking one: that must be named
    assert env["OPENAI_API_KEY"] == digest(SECRET_VARIABLES["OPENAI_API_KEY"])  # named exactly
    shown = run_cli("policy").out
    assert (
        "withheld: MY_SERVICE_PASSWORD: looks like a secret (*PASSWORD*); name it exactly in sandbox.env"
        in shown
    )
    assert (
        "OPENAI_API_KEY (named by sandbox.env)" in shown
        and "MY_SETTING (named by sandbox.env (MY_*))" in shown
    )


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")
@pytest.mark.parametrize("network", ["true", "false"])
def test_unix_sockets_are_made_only_where_no_host_socket_is_reachable_or_the_policy_says(
    proj: Project, run_cli, victim, network: str
) -> None:
    home, listener, abstract = victim
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + f"\nsandbox:\n  network: {network}\n  unix_sockets: true\n")
    git(proj.root, "commit", "-qam", "unix sockets")
    loot = run_thief(proj, run_cli, home, listener, abstract, files=False)
    if network == "true":  # the project let it: the machine's abstract sockets are reachable
        assert loot["abstract"] == "connected" and abstract.connections == 1
    else:  # a network namespace of its own: no filter, and none of the host's abstract sockets
        assert loot["abstract"] == "refused: ConnectionRefusedError" and abstract.connections == 0
    assert str(loot["socket"]).startswith("refused") and listener.connections == 0  # the file: hidden


def test_what_an_agent_prints_of_credential_files_is_never_stored(proj: Project, run_cli, victim) -> None:
    """Without the sandbox the files are readable (docs/security.md): an agent that prints them
    still gets none of them into the ledger — formats and credential keywords are redacted from
    everything stored."""
    home, _, _ = victim
    proj.sandbox("off")
    names = " ".join(str(home / name) for name in CREDENTIAL_FILES)
    script = proj.scripts / "printer.sh"
    script.write_text(
        "#!/bin/sh\nprintf 'x = 1\\n' > new.py\n"
        f"cat {names}\n"
        f'cat {names} > "$CONDUCTOR_RESULT_DIR/$CONDUCTOR_STEP.explanation.md"\n'
    )
    script.chmod(0o755)
    step = {"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}
    assert run_cli("build", "--plan", proj.plan([step]), "--exec", str(script), "--yes").code == 0
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=proj.root, capture_output=True, check=True
    ).stdout
    for number in range(6, 11):
        assert f"{MARK}{number}".encode() not in objects, number
    assert b"[redacted:private key]" in objects


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_a_change_that_adds_a_secret_is_refused_naming_file_and_line(
    proj: Project, run_cli, victim, sandbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj.sandbox(sandbox)
    policy = proj.root / ".conductor" / "policy.yaml"
    text = policy.read_text().replace(
        "file_rules:\n", "file_rules:\n  secrets_allowed: ['tests/fixtures/']\n", 1
    )
    policy.write_text(text.replace("\nsandbox:\n", "\nsandbox:\n  env: [MY_SERVICE_PASSWORD]\n", 1))
    git(proj.root, "commit", "-qam", "fixtures may hold fake keys")
    key = "AKIA" + "Q" * 16
    steps = [{"title": "Configure", "instruction": "Write config.py", "allowed_files": ["**"]}]
    writer = proj.agent(
        {
            "*": [
                {
                    "write": {
                        "config.py": f"# settings\nAWS_KEY = '{key}'\n",
                        "tests/fixtures/creds.py": f"FAKE = '{key}'\n",
                    }
                }
            ]
        }
    )
    result = run_cli(
        "build",
        "--plan",
        proj.plan(steps, policy={"behavior": {"max_attempts": 1}}),
        "--exec",
        writer,
        "--yes",
    )
    assert result.code == 1
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    found = [(v["path"], v["detail"]) for v in verdict["violations"]]
    assert found == [("config.py", "adds a secret (AWS access key) at line 2")], found
    assert "file_rules.secrets_allowed" in verdict["hint"]

    echo = proj.scripts / "echo_secret.sh"
    echo.write_text('#!/bin/sh\nprintf "PASSWORD = \\"%s\\"\\n" "$MY_SERVICE_PASSWORD" > settings.py\n')
    echo.chmod(0o755)
    again = run_cli(
        "build",
        "--plan",
        proj.plan(steps, name="p2.yaml", policy={"behavior": {"max_attempts": 1}}),
        "--exec",
        str(echo),
        "--yes",
    )
    assert again.code == 1
    plans = proj.ledger().plans()
    newest = max(plans, key=lambda p: proj.ledger().tip(f"refs/conductor/plans/{p}").event.time or "")
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json", plan=newest))
    assert verdict["violations"][0]["detail"] == "adds a secret (the value of $MY_SERVICE_PASSWORD) at line 1"
