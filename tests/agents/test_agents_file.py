"""Agent profiles as data: `conductor agents` lists them (installed? which version?), a project
adds its own in .conductor/agents.yaml without code, and a profile's agent gets its prompt, its
own variables, a private home with its settings, and nothing else of the user's environment;
its scratch files are never committed nor counted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conductor.project import state_home
from tests.conftest import PYTHON, git
from tests.scenario import Project

ONE_FILE = {"title": "Write notes", "instruction": "Write notes.md", "allowed_files": ["notes.md"]}

# A stand-in CLI agent: writes notes.md from its prompt, leaves a scratch file, and says what it
# was given (the variables' names, its home) in an explanation of its own.
AGENT = """
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
prompt = Path(args[args.index("--prompt") + 1]).read_text()
model = args[args.index("--model") + 1] if "--model" in args else None
Path("notes.md").write_text("# notes\\n")
Path(".notes-agent.log").write_text("scratch\\n")
home = Path(os.environ["HOME"])
seen = {
    "names": sorted(os.environ),
    "home": str(home),
    "settings": (home / ".notes-agent" / "settings.json").read_text(),
    "model": model,
    "stdin": sys.stdin.read() == prompt,
    "prompt": prompt,
    "key": os.environ.get("NOTES_AGENT_KEY"),
    "url": os.environ.get("NOTES_AGENT_URL"),
}
out = Path(os.environ["CONDUCTOR_RESULT_DIR"]) / (os.environ["CONDUCTOR_STEP"] + ".explanation.md")
out.write_text("# notes agent\\n\\n" + json.dumps(seen) + "\\n")
"""


def declare(proj: Project, body: str) -> None:
    (proj.root / ".conductor" / "agents.yaml").write_text(body)
    git(proj.root, "add", ".conductor/agents.yaml")
    git(proj.root, "commit", "-qm", "an agent of our own")


def profile(script: Path) -> str:
    return f"""\
version: 1
agents:
  notes:
    description: writes notes
    program: {Path(PYTHON).name}
    command: {Path(PYTHON).name} {script} --prompt {{prompt_file}} {{model_args}}
    model: small-model
    env: [NOTES_AGENT_KEY, NOTES_AGENT_URL]
    key_env: [NOTES_AGENT_KEY]
    base_url_env: [NOTES_AGENT_URL]
    set_env: {{NOTES_AGENT_TELEMETRY: "off"}}
    home:
      .notes-agent/settings.json: '{{"workspace": "{{workspace}}", "model": "{{model}}"}}'
    scratch: [.notes-agent*]
"""


def test_a_project_profile_runs_with_only_what_it_declares(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = proj.scripts / "notes_agent.py"
    script.write_text(AGENT)
    declare(proj, profile(script))
    monkeypatch.setenv("PATH", f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NOTES_AGENT_KEY", "nk-123")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_agents")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-agents-either")
    plan = proj.plan([ONE_FILE])

    built = run_cli(
        "build", "--plan", plan, "--agent", "notes", "--base-url", "http://127.0.0.1:9/v1", "--yes"
    )

    assert built.code == 0, built.err
    explanation = proj.record("completed/step_001.explanation.md")
    assert explanation.startswith("# notes agent\n")  # its own, kept
    seen = json.loads(explanation.splitlines()[2])
    assert "GITHUB_TOKEN" not in seen["names"] and "AWS_SECRET_ACCESS_KEY" not in seen["names"]
    assert seen["key"] == "nk-123" and seen["url"] == "http://127.0.0.1:9/v1"
    assert "NOTES_AGENT_TELEMETRY" in seen["names"]
    assert seen["model"] == "small-model" and seen["stdin"] is True
    assert "Task step_001 (attempt 1): Write notes.md" in seen["prompt"]
    home = Path(seen["home"])  # a home of its own for the run, gone with it: not the user's
    assert home != Path.home() and home.is_relative_to(state_home()) and not home.exists()
    settings = json.loads(seen["settings"])
    assert settings == {"workspace": str(proj.worktree()), "model": "small-model"}
    # its scratch file is neither committed nor a violation of allowed_files
    assert (
        git(proj.root, "ls-tree", "-r", "--name-only", proj.branch()).split().count(".notes-agent.log") == 0
    )
    claimed = next(e for e in proj.events() if e.type.value == "task.claimed")
    assert claimed.data["worker"]["executor"] == "agent"
    assert run_cli("verify").code == 0


def test_conductor_agents_lists_the_profiles_and_what_is_installed(
    proj: Project, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aider"
    fake.write_text("#!/bin/sh\necho 'aider 9.9.9'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    script = proj.scripts / "notes_agent.py"
    declare(proj, profile(script))

    listed = run_cli("agents", "--json")

    assert listed.code == 0, listed.err
    by_name = {a["name"]: a for a in json.loads(listed.out)}
    assert {"aider", "claude", "codex", "gemini", "notes"} <= set(by_name)
    aider = by_name["aider"]
    assert aider["installed"] and aider["version"] == "aider 9.9.9" and aider["keys"]["OPENAI_API_KEY"]
    assert aider["origin"] == "built-in" and ".aider*" in aider["scratch"]
    assert "--message-file" in aider["command"]
    assert not by_name["claude"]["installed"] and by_name["claude"]["keys"] == {
        "ANTHROPIC_API_KEY": False,
        "ANTHROPIC_AUTH_TOKEN": False,
    }
    assert by_name["notes"]["origin"] == ".conductor/agents.yaml:3"
    text = run_cli("agents").out
    assert "aider 9.9.9" in text and "OPENAI_API_KEY set" in text
    assert "Install claude: npm install -g @anthropic-ai/claude-code" in text
    unknown = run_cli("agents", "nope")
    assert (
        unknown.code == 1
        and "no agent profile 'nope' (known: aider, claude, codex, gemini, notes)" in unknown.err
    )


def test_a_bad_profile_is_an_error_naming_the_file_the_line_and_the_field(proj: Project, run_cli) -> None:
    declare(proj, "agents:\n  mine:\n    program: mine\n    command: mine --task {task_file}\n")
    result = run_cli("agents")
    assert result.code == 1
    assert ".conductor/agents.yaml:4" in result.err and "agents.mine.command" in result.err
    assert "unknown placeholder {task_file}" in result.err
    plan = proj.plan([ONE_FILE])
    built = run_cli("build", "--plan", plan, "--agent", "mine", "--yes")
    assert built.code == 1 and "unknown placeholder" in built.err and proj.ledger().plans() == []


def test_the_policy_names_the_agent_when_the_command_line_does_not(
    proj: Project, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = proj.scripts / "notes_agent.py"
    script.write_text(AGENT)
    declare(proj, profile(script))
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nexecutor:\n  agent: notes\n  model: big-model\n")
    git(proj.root, "commit", "-qam", "our agent by default")
    monkeypatch.setenv("PATH", f"{Path(PYTHON).parent}{os.pathsep}{os.environ['PATH']}")
    plan = proj.plan([ONE_FILE])

    built = run_cli("build", "--plan", plan, "--yes")

    assert built.code == 0, built.err
    seen = json.loads(proj.record("completed/step_001.explanation.md").splitlines()[2])
    assert seen["model"] == "big-model"
    recorded = json.loads(git(proj.root, "show", f"refs/conductor/plans/{proj.only_plan()}:plan.json"))
    assert recorded["executor"] == {
        "executor": "agent",
        "agent": "notes",
        "model": "big-model",
        "base_url": None,
    }
