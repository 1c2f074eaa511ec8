"""Self-repair: failures become the next attempt's context and lessons; attempts are fenced."""

from __future__ import annotations

import json

from conductor.engine.confidence import signature
from conductor.runner.logs.memory import Asking, Memory
from tests.conftest import git
from tests.scenario import Project, build


def test_a_rejected_step_is_retried_with_the_failure_in_its_context(proj: Project, run_cli) -> None:
    steps = [{"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}]
    plan = proj.plan(steps)
    script = {
        "step_001": {
            "1": [{"write": {"new.py": "x = 1\n", "uv.lock": "pinned\n"}}],
            "2": [{"write": {"new.py": "x = 2\n"}}],
        }
    }
    result = build(run_cli, proj, plan, proj.agent(script))
    assert result.code == 0, result.err
    kinds = [(e.type.value, e.attempt) for e in proj.events() if e.step == "step_001"]
    assert kinds == [
        ("task.created", 1),
        ("task.claimed", 1),
        ("result.received", 1),
        ("task.rejected", 1),
        ("repair.scheduled", 2),
        ("task.created", 2),
        ("task.claimed", 2),
        ("result.received", 2),
        ("task.completed", 2),
    ]
    second = json.loads(proj.record("completed/step_001.task.json"))
    assert second["attempt"] == 2
    repair = second["context"]["repair"]
    assert repair["attempt"] == 1 and repair["failure"] == "Constraint violation"
    assert "uv.lock: added: protected by '*.lock'" in repair["reason"]
    assert repair["hint"].startswith("Fix task scope")
    assert "added uv.lock" in repair["rejected_diff"] and "added new.py" in repair["rejected_diff"]
    assert any("failed" in lesson and "uv.lock" in lesson for lesson in second["context"]["lessons"])
    # the first attempt's records are kept, the branch has only the second attempt's change
    assert json.loads(proj.record("evidence/step_001/attempt_1/result.json"))["attempt"] == 1
    assert git(proj.root, "show", f"{proj.branch()}:new.py") == "x = 2\n"
    assert "uv.lock" not in git(proj.root, "ls-tree", "-r", "--name-only", proj.branch())
    trailers = git(proj.root, "log", "-1", "--format=%(trailers:only)", proj.branch())
    assert "Conductor-Attempt: 2" in trailers


def test_lessons_are_recorded_once_and_feed_later_confidence(proj: Project, run_cli) -> None:
    steps = [
        {
            "title": "Write new.py",
            "instruction": "Write new.py",
            "allowed_files": ["new.py"],
            "verify": ["true"],
        }
    ]
    plan = proj.plan(steps)
    script = {"step_001": {"1": [{"write": {"other.py": "x\n"}}], "2": [{"write": {"new.py": "x\n"}}]}}
    assert build(run_cli, proj, plan, proj.agent(script)).code == 0
    memory = Memory(proj.ledger())
    history = memory.history(signature(["new.py"]))
    assert (history.attempts, history.successes) == (2, 1)
    assert history.failures == {"constraint_violation": 1}
    first = json.loads(proj.record("evidence/step_001/attempt_1/confidence.json"))
    second = json.loads(proj.record("evidence/step_001/attempt_2/confidence.json"))
    assert second["factors"][0]["value"] < first["factors"][0]["value"]  # one failure on record now
    lessons = memory.lessons(signature(["new.py"]), Asking("later", "main", "step_001", ["new.py"]))
    assert len(lessons) == 2 and any("succeeded after a repair" in text for text in lessons)


def test_repeated_failure_fails_the_fork_after_max_attempts(proj: Project, run_cli) -> None:
    steps = [{"title": "t", "instruction": "i", "allowed_files": ["new.py"]}]
    plan = proj.plan(steps, policy={"behavior": {"max_attempts": 3}})
    result = build(run_cli, proj, plan, proj.agent({"*": [{"write": {"bad.py": "x\n"}}]}))
    assert result.code == 1
    events = proj.events()
    assert [e.attempt for e in events if e.type.value == "task.rejected"] == [1, 2, 3]
    assert events[-1].type.value == "fork.failed" and "3 of 3" in events[-1].summary
    status = run_cli("status", "--json")
    fork = json.loads(status.out)[0]["forks"][0]
    assert fork["state"] == "failed" and fork["steps"] == [
        {"step": "step_001", "state": "failed", "attempt": 3, "confidence": fork["steps"][0]["confidence"]}
    ]
