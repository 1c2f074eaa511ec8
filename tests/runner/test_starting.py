"""A command that cannot start is said before a plan starts (its program is not there, its script
is not committed, the sandbox hides it), and one that fails to start during a run halts the plan:
it is not retried as it is, not counted against max_attempts, not learned from. Nothing is not a
change, and an agent's own explanation is kept."""

from __future__ import annotations

import json
import shlex

import pytest

from conductor.models.event import EventType
from tests.conftest import NO_SANDBOX, PYTHON, git
from tests.scenario import Project

ONE_FILE = {"title": "Write notes", "instruction": "Write notes.md", "allowed_files": ["notes.md"]}
AGENT = "#!/bin/sh\nprintf '# notes\\n' > notes.md\n"


def refused(run_cli, proj: Project, plan: str, command: str, *words: str) -> str:
    """Build with `command`: refused before anything is recorded; the error text."""
    result = run_cli("build", "--plan", plan, "--exec", command, "--yes")
    assert result.code == 1, result.out + result.err
    assert proj.ledger().plans() == []
    for word in words:
        assert word in result.err, result.err
    return result.err


def test_a_script_that_is_not_committed_is_refused_before_the_plan_starts(proj: Project, run_cli) -> None:
    plan = proj.plan([ONE_FILE])
    (proj.root / "agent.sh").write_text(AGENT)
    (proj.root / "agent.sh").chmod(0o755)
    refused(
        run_cli,
        proj,
        plan,
        "./agent.sh",
        "`./agent.sh` is in your checkout but not committed",
        "git add agent.sh",
    )
    (proj.root / "agent.py").write_text("print('hi')\n")
    refused(run_cli, proj, plan, "python3 agent.py", "`agent.py` is in your checkout but not committed")
    refused(run_cli, proj, plan, "./missing.sh", "`./missing.sh` is not in the repository")

    git(proj.root, "add", "agent.sh")
    git(proj.root, "update-index", "--chmod=-x", "agent.sh")
    git(proj.root, "commit", "-qm", "the agent, not executable")
    plan = proj.plan([ONE_FILE], name="plan2.yaml")
    refused(run_cli, proj, plan, "./agent.sh", "committed without the executable bit", "--chmod=+x agent.sh")

    git(proj.root, "update-index", "--chmod=+x", "agent.sh")
    git(proj.root, "commit", "-qm", "the agent, executable")
    plan = proj.plan([ONE_FILE], name="plan3.yaml")
    built = run_cli("build", "--plan", plan, "--exec", "./agent.sh", "--yes")
    assert built.code == 0, built.err
    assert git(proj.root, "show", f"{proj.branch()}:notes.md") == "# notes\n"


def test_a_program_that_is_not_installed_is_refused(proj: Project, run_cli) -> None:
    plan = proj.plan([ONE_FILE])
    refused(run_cli, proj, plan, "no-such-agent-cli --go", "`no-such-agent-cli` is not installed here")
    refused(run_cli, proj, plan, "/nowhere/agent --go", "`/nowhere/agent` does not exist")
    missing = run_cli("build", "--plan", plan, "--agent", "aider", "--yes")
    if missing.code == 1 and "is not installed here" in missing.err:  # unless aider is on PATH
        assert "pipx install aider-chat" in missing.err
        assert proj.ledger().plans() == []


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")
def test_a_script_the_sandbox_hides_is_refused_unless_the_policy_exposes_it(proj: Project, run_cli) -> None:
    tools = proj.root / "tools"
    tools.mkdir()
    (tools / "agent.sh").write_text(AGENT)
    (tools / "agent.sh").chmod(0o755)
    plan = proj.plan([ONE_FILE])
    refused(
        run_cli,
        proj,
        plan,
        str(tools / "agent.sh"),
        "is in your checkout (tools/agent.sh), which the sandbox hides from the command",
        "sandbox: {expose: [tools/agent.sh]}",
    )
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nsandbox:\n  expose: [tools]\n")
    git(proj.root, "commit", "-qam", "the agent's folder, shown to the sandbox")
    built = run_cli("build", "--plan", plan, "--exec", str(tools / "agent.sh"), "--yes")
    assert built.code == 0, built.err
    assert git(proj.root, "show", f"{proj.branch()}:notes.md") == "# notes\n"


def test_a_command_that_cannot_start_halts_and_resume_runs_the_fixed_one(proj: Project, run_cli) -> None:
    plan = proj.plan([ONE_FILE], policy={"behavior": {"max_attempts": 1}})
    broken = "P=python3; $P /nowhere/agent.py"  # only running it tells

    halted = run_cli("build", "--plan", plan, "--exec", broken, "--yes")

    assert halted.code == 1, halted.err
    assert "could not start: exit 2: can't open file '/nowhere/agent.py'" in halted.err, halted.err
    assert "halted" in halted.out
    events = proj.events()
    (failed,) = [e for e in events if e.type is EventType.TASK_FAILED]
    assert failed.data["kind"] == "executor_not_started"
    assert [e.type for e in events].count(EventType.TASK_CREATED) == 1  # not tried again as it is
    assert "keep it outside the repository" in failed.data["hint"]
    assert proj.state().status.value == "halted"
    lessons = git(proj.root, "ls-tree", "-r", "--name-only", "refs/conductor/memory", check=False)
    assert "step_001" not in lessons  # a command that never ran teaches nothing about the step

    agent = proj.scripts / "agent.sh"
    agent.write_text(AGENT)
    agent.chmod(0o755)
    resumed = run_cli("resume", "--exec", str(agent), "--yes")

    assert resumed.code == 0, resumed.err  # max_attempts 1: the failed start did not count
    assert git(proj.root, "show", f"{proj.branch()}:notes.md") == "# notes\n"


def test_a_step_that_changes_nothing_is_rejected_unless_it_may(proj: Project, run_cli) -> None:
    idle = proj.agent({"*": [{"say": "nothing to do"}]})
    plan = proj.plan([ONE_FILE], policy={"behavior": {"max_attempts": 1}})
    result = run_cli("build", "--plan", plan, "--exec", idle, "--yes")
    assert result.code == 1
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert verdict["kind"] == "no_change" and verdict["failure"] == "No change", verdict
    assert "allow_empty: true" in verdict["hint"]

    plan = proj.plan([{**ONE_FILE, "allow_empty": True}], name="empty.yaml")
    result = run_cli("build", "--plan", plan, "--exec", idle, "--yes")
    assert result.code == 0, result.err


def test_an_explanation_the_agent_wrote_is_kept_and_conductor_adds_beside_it(proj: Project, run_cli) -> None:
    script = proj.scripts / "explains.sh"
    script.write_text(
        "#!/bin/sh\nprintf '# notes\\n' > notes.md\n"
        "printf '# What I did\\n\\nI wrote the notes, carefully.\\n' >"
        ' "$CONDUCTOR_RESULT_DIR/$CONDUCTOR_STEP.explanation.md"\n'
        "echo 'done writing'\n"
    )
    script.chmod(0o755)
    plan = proj.plan([ONE_FILE])
    result = run_cli("build", "--plan", plan, "--exec", shlex.quote(str(script)), "--yes")
    assert result.code == 0, result.err
    explanation = proj.record("completed/step_001.explanation.md")
    assert explanation.startswith("# What I did\n\nI wrote the notes, carefully.\n")
    assert "## Added by Conductor" in explanation and "Exit code 0" in explanation
    assert "done writing" in explanation


def test_tasks_say_not_to_run_shell_commands_unless_the_policy_allows_them(proj: Project, run_cli) -> None:
    dump = proj.scripts / "dump.sh"
    show = "import json, os; print(json.load(open(os.environ['CONDUCTOR_TASK_FILE']))['constraints'])"
    dump.write_text(f'#!/bin/sh\n{PYTHON} -c "{show}" > notes.md\n')
    dump.chmod(0o755)
    plan = proj.plan([ONE_FILE])
    assert run_cli("build", "--plan", plan, "--exec", str(dump), "--yes").code == 0
    assert "Do NOT run shell commands unless instructed" in git(
        proj.root, "show", f"{proj.branch()}:notes.md"
    )
    allowed = proj.plan([ONE_FILE], policy={"behavior": {"shell_commands": True}}, name="shell.yaml")
    assert run_cli("build", "--plan", allowed, "--exec", str(dump), "--yes").code == 0
    plans = proj.ledger().plans()
    newest = max(plans, key=lambda p: proj.ledger().tip(f"refs/conductor/plans/{p}").event.time or "")
    shown = git(proj.root, "show", f"conductor/{newest}/main:notes.md")
    assert "shell commands" not in shown


def test_a_tools_own_file_outside_allowed_files_gets_advice_on_what_to_do(proj: Project, run_cli) -> None:
    chatty = proj.agent({"*": [{"write": {"notes.md": "# notes\n", ".tool.chat.history.md": "chat"}}]})
    plan = proj.plan([ONE_FILE], policy={"behavior": {"max_attempts": 1}})
    result = run_cli("build", "--plan", plan, "--exec", chatty, "--yes")
    assert result.code == 1
    verdict = json.loads(proj.record("evidence/step_001/attempt_1/verdict.json"))
    assert verdict["violations"][0]["path"] == ".tool.chat.history.md"
    assert "if .tool.chat.history.md is a tool's own file" in verdict["hint"]
    assert "--agent NAME" in verdict["hint"] and "scratch:" in verdict["hint"]
