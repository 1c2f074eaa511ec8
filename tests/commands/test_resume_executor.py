"""`conductor resume --executor/--exec/--llm`: the rest of a plan runs with another executor, the
change is recorded and kept; a failed plan is not resumed, in one message."""

from __future__ import annotations

import json
import signal
import subprocess
from typing import Any

import pytest

from conductor.executors.registry import KINDS
from conductor.llm.fake import FakeModelServer
from tests.conftest import conductor_bin, wait_until
from tests.scenario import HELLO_STEPS, Project

LOW: dict[str, Any] = {"confidence": {"approval_below": 0.99}}  # every step waits for approval
HELLO = {
    "step_001": [{"write": {"hello.py": "def greet(n):\n    return 'Hello, ' + n\n"}}],
    "step_002": [{"write": {"test_hello.py": "import hello\nassert hello.greet('a') == 'Hello, a'\n"}}],
}


def start(proj: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [conductor_bin(), *args], cwd=proj.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def interrupt(proc: subprocess.Popen[str], ready: Any, what: str) -> None:
    """Ctrl-C once `ready()` holds: the plan halts."""
    wait_until(ready, timeout=60, what=what)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err


def handed_out(proj: Project, step: str = "step_001") -> bool:
    return any((proj.root / ".conductor" / "handoff").glob(f"plan_*/fork_main/pending/{step}.task.json"))


def plan_log(proj: Project) -> list[Any]:
    return list(proj.ledger().log(f"refs/conductor/plans/{proj.only_plan()}", newest_first=False))


def recorded_executor(proj: Project) -> dict[str, Any]:
    tip = proj.ledger().tip(f"refs/conductor/plans/{proj.only_plan()}")
    assert tip is not None
    return dict(json.loads(tip.read_text("plan.json") or "{}")["executor"])


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_handoff_plan_nobody_answers_is_finished_by_a_command_given_to_resume(
    proj: Project, run_cli
) -> None:
    plan = proj.plan(HELLO_STEPS)
    interrupt(
        start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes"),
        lambda: handed_out(proj),
        "the task",
    )
    command = proj.agent(HELLO)

    resumed = run_cli("resume", "--exec", command, "--yes")
    assert resumed.code == 0, resumed.err
    assert "completed" in resumed.out
    assert f"executor changed from handoff to command `{command}`; later resumes keep it" in resumed.err

    events = proj.events()
    handed = [e for e in events if e.type.value == "task.failed"]
    assert [(e.step, e.attempt, e.data["kind"]) for e in handed] == [("step_001", 1, "interrupted")]
    assert handed[0].summary.startswith("Interrupted: the executor changed from handoff to command")
    created = [(e.step, e.attempt) for e in events if e.type.value == "task.created"]
    assert created == [("step_001", 1), ("step_001", 2), ("step_002", 1)]
    claims = [e.data["worker"]["executor"] for e in events if e.type.value == "task.claimed"]
    assert claims == ["command", "command"]
    assert events[-1].type.value == "fork.completed"

    notes = [e for e in plan_log(proj) if e.type.value == "note"]
    assert len(notes) == 1 and notes[0].data["executor"] == {
        "from": {"executor": "handoff"},
        "to": {"executor": "command", "exec": command},
    }
    assert recorded_executor(proj) == {"executor": "command", "exec": command}
    shown = run_cli("events", "--plan", proj.only_plan())
    assert "executor changed from handoff to command" in shown.out
    explained = run_cli("explain", "step_001", "--plan", proj.only_plan())
    assert "the executor changed from handoff to command" in explained.out


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_later_resumes_keep_the_executor_resume_was_given(proj: Project, run_cli) -> None:
    plan = proj.plan(HELLO_STEPS)
    interrupt(
        start(proj, "build", "--plan", plan, "--executor", "handoff", "--yes"),
        lambda: handed_out(proj),
        "the task",
    )
    script = {**HELLO, "step_002": {"1": [{"marker": "started"}, {"sleep": 60}], "*": HELLO["step_002"]}}
    command = proj.agent(script)
    started = lambda: (proj.worktree() / "started").exists()  # noqa: E731
    interrupt(start(proj, "resume", "--exec", command, "--yes"), started, "step_002's command")
    assert proj.state().status.value == "halted"

    again = run_cli("resume", "--yes")  # in this process: only the Ctrl-Cs above need processes
    assert again.code == 0, again.err
    assert "running `" in again.err and "waiting for an agent" not in again.err
    assert "executor changed" not in again.err
    assert [e.type.value for e in plan_log(proj)].count("note") == 1  # nothing changed the second time
    assert proj.state().status.value == "completed"


def test_a_bad_executor_on_resume_is_refused_and_nothing_is_recorded(proj: Project, run_cli) -> None:
    plan = proj.plan(HELLO_STEPS, policy=LOW)
    halted = run_cli("build", "--plan", plan, "--executor", "handoff")
    assert halted.code == 1 and proj.state().status.value == "halted"
    before = {ref: proj.ledger().points_at(ref) for ref in proj.ledger().ref_names()}

    unknown = run_cli("resume", "--executor", "aider")
    assert unknown.code == 2
    known = ", ".join(f"'{name}'" for name in KINDS)  # the table's executors, in its order
    assert f"Invalid value for '--executor': 'aider' is not one of {known}" in unknown.err
    no_command = run_cli("resume", "--executor", "command")
    assert no_command.code == 1
    assert "error: the command executor needs a command" in no_command.err
    both = run_cli("resume", "--executor", "handoff", "--exec", "./agent.sh")
    assert both.code == 1 and "--exec is for the command executor" in both.err
    no_model = run_cli("resume", "--executor", "llm")
    assert no_model.code == 1 and "the llm executor needs a model" in no_model.err

    assert {ref: proj.ledger().points_at(ref) for ref in proj.ledger().ref_names()} == before
    assert recorded_executor(proj) == {"executor": "handoff"}


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_resume_with_a_model_runs_the_rest_with_it(proj: Project, run_cli) -> None:
    plan = proj.plan(HELLO_STEPS[:1], policy=LOW)
    assert run_cli("build", "--plan", plan, "--executor", "handoff").code == 1  # waits for approval
    assert run_cli("approve", "step_001", "--no-resume").code == 0
    answer = {
        "summary": "wrote hello.py",
        "explanation": "Added greet.",
        "edits": [{"path": "hello.py", "action": "write", "content": "def greet(n):\n    return n\n"}],
    }
    with FakeModelServer([{"match": ["step_001"], "json": answer}], flavor="openai") as fake:
        resumed = run_cli("resume", "--llm", "openai", "--base-url", fake.url, "--model", "llama3.1", "--yes")
        assert resumed.code == 0, resumed.err
        assert [s.body["model"] for s in fake.seen] == ["llama3.1"]
    executor = recorded_executor(proj)
    assert executor["executor"] == "llm" and executor["llm"]["provider"] == "openai"
    assert "executor changed from handoff to llm openai/llama3.1" in run_cli("events").out


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_resuming_a_failed_plan_says_so_once_with_what_to_do(proj: Project, run_cli) -> None:
    plan = proj.plan(HELLO_STEPS, policy={"behavior": {"max_attempts": 1}})
    failing = proj.agent({**HELLO, "step_002": [{"exit": 3}]}, name="failing.json")
    assert run_cli("build", "--plan", plan, "--exec", failing, "--yes").code == 1
    plan_id = proj.only_plan()
    command = proj.agent(HELLO)
    for args in (["resume", plan_id], ["resume"], ["resume", plan_id, "--exec", command, "--json"]):
        resumed = run_cli(*args)
        assert resumed.code == 1, args
        if "--json" in args:  # the same failure, as data on stdout
            assert json.loads(resumed.out)["error"]["code"] == "error"
        else:
            assert resumed.out == ""
        lines = resumed.err.strip().splitlines()
        assert len(lines) == 2, resumed.err
        assert lines[0].startswith(
            f"error: plan {plan_id} failed; nothing to resume (fork main: step_002 failed 1 of 1"
        )
        assert lines[1].startswith(f"hint: see why with `conductor explain step_002 --plan {plan_id}`;")
        assert f"`conductor fork --from {plan_id}/main@step_001 --exec CMD`" in lines[1]
    assert [e.type.value for e in plan_log(proj)].count("note") == 0
    assert recorded_executor(proj) == {"executor": "command", "exec": failing}

    rest = proj.agent({"*": HELLO["step_002"]}, name="rest.json")
    again = run_cli("fork", "--from", f"{plan_id}/main@step_001", "--exec", rest, "--yes")  # as it says
    assert again.code == 0, again.err
