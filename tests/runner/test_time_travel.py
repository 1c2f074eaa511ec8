"""Time travel: `conductor checkout PLAN/FORK@STEP` revisits a point, `conductor fork --from`
starts a new plan there; the old plan and its history stay as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor.ledger import refs
from tests.conftest import git
from tests.scenario import Project, build

STEPS = [
    {"title": f"Write {name}", "instruction": f"Write {name}", "allowed_files": [name]}
    for name in ("a.txt", "b.txt", "c.txt")
]


def writes(agent: str) -> dict:
    return {
        f"step_00{i + 1}": [{"write": {name: f"{name} by {agent}\n"}}]
        for i, name in enumerate(("a.txt", "b.txt", "c.txt"))
    }


@pytest.fixture
def done(prebuilt, run_cli) -> tuple[Project, str]:
    """A copy of the project where STEPS were built (once per test process), and its plan."""

    def make(proj: Project) -> None:
        result = build(run_cli, proj, proj.plan(STEPS), proj.agent(writes("one"), "one.json"), "--json")
        assert result.code == 0, result.err

    proj = prebuilt("time-travel", make)
    return proj, proj.only_plan()


def snapshot(proj: Project) -> dict[str, str]:
    return {
        name: git(proj.root, "rev-parse", name).strip()
        for name in git(proj.root, "for-each-ref", "--format=%(refname)").split()
    }


def test_checkout_revisits_the_code_and_records_of_an_accepted_step(
    done: tuple[Project, str], run_cli, tmp_path: Path
) -> None:
    proj, plan = done
    head, status = git(proj.root, "rev-parse", "HEAD"), git(proj.root, "status", "--porcelain")
    result = run_cli("checkout", f"{plan}/main@step_001", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    path = Path(data["path"])
    assert path == proj.root.parent / f"proj-{plan}-main-step_001"  # beside the checkout
    assert sorted(p.name for p in path.glob("*.txt")) == ["a.txt"]
    assert (path / "a.txt").read_text() == "a.txt by one\n"
    assert git(path, "rev-parse", "HEAD").strip() == data["commit"]
    assert git(path, "log", "-1", "--format=%(trailers:key=Conductor-Step,valueonly)").strip() == "step_001"
    # the records as they were then: step_001 done, step_002 not yet
    files = git(proj.root, "ls-tree", "-r", "--name-only", data["record"]).split()
    assert "completed/step_001.result.json" in files
    assert not any(f.startswith("completed/step_002") for f in files)
    # the user's checkout is untouched
    assert git(proj.root, "rev-parse", "HEAD") == head
    assert git(proj.root, "status", "--porcelain") == status

    text = run_cli("checkout", f"conductor/{plan}/main@base", str(tmp_path / "before"))
    assert text.code == 0, text.err
    assert f"Checked out {plan}/main@base" in text.out and "git worktree remove" in text.out
    assert list((tmp_path / "before").glob("*.txt")) == []
    tip = json.loads(run_cli("checkout", f"{plan}/main", str(tmp_path / "tip"), "--json").out)
    assert tip["commit"] == git(proj.root, "rev-parse", proj.branch(plan)).strip()
    assert sorted(p.name for p in (tmp_path / "tip").glob("*.txt")) == ["a.txt", "b.txt", "c.txt"]


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ("nonsense", "'nonsense' is not a point in a plan"),
        ("{plan}/main@", "is not a point in a plan"),
        ("no-such-plan/main@step_001", "no plan 'no-such-plan'"),
        ("{plan}/other@step_001", "has no fork other"),
        ("{plan}/main@step_009", "step_009 of {plan}/main was not accepted"),
    ],
)
def test_checkout_errors_are_clear_and_create_nothing(
    done: tuple[Project, str], run_cli, point: str, message: str
) -> None:
    proj, plan = done
    before = sorted(proj.root.parent.iterdir())  # where a checkout would go
    result = run_cli("checkout", point.format(plan=plan))
    assert result.code == 1
    assert message.format(plan=plan) in result.err
    assert sorted(proj.root.parent.iterdir()) == before


def test_checkout_refuses_a_directory_that_is_in_use(
    done: tuple[Project, str], run_cli, tmp_path: Path
) -> None:
    _, plan = done
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep\n")
    result = run_cli("checkout", f"{plan}/main@step_001", str(busy))
    assert result.code == 1 and f"{busy} already exists" in result.err
    assert [p.name for p in busy.iterdir()] == ["mine.txt"]


def test_fork_runs_the_remaining_steps_from_a_point_and_leaves_the_old_plan_alone(
    done: tuple[Project, str], run_cli
) -> None:
    proj, old = done
    before = snapshot(proj)
    # the new plan's steps are the old step_002 and step_003, with the same numbers
    script = {"step_002": writes("two")["step_002"], "step_003": writes("two")["step_003"]}
    result = run_cli(
        "fork", "--from", f"{old}/main@step_001", "--exec", proj.agent(script, "two.json"), "--yes", "--json"
    )
    assert result.code == 0, result.err
    new = json.loads(result.out)["plan"]
    assert new != old and f"from {old}/main@step_001" in result.err
    point = git(proj.root, "rev-parse", f"{proj.branch(old)}~2").strip()
    assert json.loads(result.out)["base"] == point
    branch = proj.branch(new)
    assert git(proj.root, "show", f"{branch}:a.txt") == "a.txt by one\n"
    assert git(proj.root, "show", f"{branch}:b.txt") == "b.txt by two\n"
    assert git(proj.root, "show", f"{branch}:c.txt") == "c.txt by two\n"
    assert git(proj.root, "rev-list", "--count", f"{point}..{branch}").strip() == "2"
    # the old plan is exactly as it was (the memory of lessons and the metrics are of all plans)
    after = snapshot(proj)
    shared = ("memory", "metrics")
    assert {k: v for k, v in after.items() if new not in k and not k.endswith(shared)} == {
        k: v for k, v in before.items() if not k.endswith(shared)
    }
    created = json.loads(git(proj.root, "show", f"{refs.plan_log(new)}:plan.json"))
    assert created["source"] == f"fork:{old}/main@step_001" and created["base"] == point
    assert run_cli("verify", new).code == 0
    status = json.loads(run_cli("status", "--json").out)
    assert {p["plan"]: p["origin"] for p in status} == {old: None, new: f"{old}/main@step_001"}
    assert f"(from {old}/main@step_001)" in run_cli("status").out


def test_fork_with_strategies_runs_one_fork_each_from_the_point(done: tuple[Project, str], run_cli) -> None:
    proj, old = done
    script = {"*": [{"write": {"d.txt": "d\n"}}]}
    result = run_cli(
        "fork",
        "--from",
        f"{old}/main@step_002",
        "--strategy",
        "add d quickly",
        "--strategy",
        "add d carefully",
        "--exec",
        proj.agent(script, "d.json"),
        "--yes",
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert {f["fork"] for f in data["forks"]} == {"add-d-quickly", "add-d-carefully"}
    for fork in ("add-d-quickly", "add-d-carefully"):
        files = git(proj.root, "ls-tree", "--name-only", proj.branch(data["plan"], fork)).split()
        assert {"a.txt", "b.txt", "d.txt"} <= set(files) and "c.txt" not in files


def test_fork_from_a_point_with_nothing_left_says_what_to_do(done: tuple[Project, str], run_cli) -> None:
    proj, old = done
    for point in (f"{old}/main@step_003", f"{old}/main"):
        result = run_cli("fork", "--from", point, "--exec", "true")
        assert result.code == 1
        assert "has no steps left" in result.err and "--strategy TEXT" in result.err
    both = run_cli("fork", "--from", f"{old}/main@base", "--strategy", "x", "--plan", "plan.yaml")
    assert both.code == 1 and "not both" in both.err
    assert proj.ledger().plans() == [old]


def test_fork_from_the_base_runs_a_plan_file(done: tuple[Project, str], run_cli) -> None:
    proj, old = done
    other = proj.plan(
        [{"title": "Write z.txt", "instruction": "Write z.txt", "allowed_files": ["z.txt"]}], name="z.yaml"
    )
    command = proj.agent({"step_001": [{"write": {"z.txt": "z\n"}}]}, "z.json")
    result = run_cli(
        "fork", "--from", f"{old}/main@base", "--plan", other, "--exec", command, "--yes", "--json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["base"] == json.loads(git(proj.root, "show", f"{refs.plan_log(old)}:plan.json"))["base"]
    files = git(proj.root, "ls-tree", "--name-only", proj.branch(data["plan"])).split()
    assert "z.txt" in files and "a.txt" not in files
    created = json.loads(git(proj.root, "show", f"{refs.plan_log(data['plan'])}:plan.json"))
    assert created["goal"] == "test goal" and created["source"] == f"fork:{old}/main@base"
