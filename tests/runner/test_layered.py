"""Layered worktrees (issue 21, point 7): with `workspace.layers: on`, a sandboxed fork's files are
the repository's shared base checkout under layers of its own, and everything a fork does gives
the same commits, verdicts and records as in a git worktree — through the CLI, with real
bubblewrap, overlayfs and git."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from conductor.project import private_state
from conductor.sandbox import overlay
from tests.conftest import NO_SANDBOX, PYTHON, conductor_bin, git, run_process
from tests.scenario import Project, build


def _no_layers() -> str | None:
    if NO_SANDBOX is not None:
        return f"no sandbox: {NO_SANDBOX}"
    reason = overlay.unavailable(Path(os.environ.get("TMPDIR", "/tmp")).resolve())
    if reason and os.environ.get("CONDUCTOR_TEST_REQUIRE_SANDBOX"):  # CI: the sandbox is part of the test
        raise RuntimeError(f"CONDUCTOR_TEST_REQUIRE_SANDBOX is set, but {reason}")
    return reason


NO_LAYERS = _no_layers()
pytestmark = pytest.mark.skipif(NO_LAYERS is not None, reason=f"no layered worktrees here: {NO_LAYERS}")

CHANGES = [
    {"write": {"out.txt": "new\n", "app.py": "print('changed')\n", "same.txt": "same\n"}},
    {"delete": ["gone.txt", "lib/a.py", "lib/b.py"]},
    {"write": {"lib/c.py": "c = 3\n", "debug.log": "ignored\n"}},
    {"chmod": [["tool.sh", "755"]]},
    {"symlink": [["link", "app.py"]]},
]
"""Writes, deletions, a directory deleted and made again, a touch without a change (same.txt),
a mode change, a symlink, an ignored file."""
REJECTED = [
    {
        "write": {
            "big.bin": "x" * 3000,
            "keep.txt": "kept?\n",
            "nested/x.txt": "x\n",
            "nested/.git/HEAD": "r\n",
        }
    }
]
"""Over behavior.max_file_bytes, beside a nested repository: the attempt is rejected."""
VERDICT = "evidence/step_002/attempt_1/verdict.json"
STEPS = [
    {"title": "Change things", "instruction": "change", "verify": [f"{PYTHON} -c 'import app'"]},
    {
        "title": "Then more",
        "instruction": "more",
        # step 1's change is seen, the rejected attempt left nothing, what verify wrote is gone
        "verify": ["test -f out.txt && test -f lib/c.py && ! test -e big.bin && ! test -e keep.txt"],
    },
]


def _layers(proj: Project, setting: str, *, sandbox: str = "auto") -> None:
    """`workspace.layers` in the checkout's policy, not committed: plans start from the same base."""
    path = proj.root / ".conductor" / "policy.yaml"
    policy = yaml.safe_load(path.read_text())
    policy.setdefault("workspace", {})["layers"] = setting
    policy.setdefault("behavior", {})["max_file_bytes"] = 2000
    policy.setdefault("sandbox", {})["mode"] = sandbox
    path.write_text(yaml.safe_dump(policy))


@pytest.fixture
def files(proj: Project) -> Project:
    (proj.root / ".gitignore").write_text("*.log\n")
    (proj.root / "gone.txt").write_text("gone\n")
    (proj.root / "same.txt").write_text("same\n")
    (proj.root / "tool.sh").write_text("echo tool\n")
    (proj.root / "lib").mkdir()
    (proj.root / "lib" / "a.py").write_text("a = 1\n")
    (proj.root / "lib" / "b.py").write_text("b = 2\n")
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-q", "-m", "files to change")
    return proj


def _run(proj: Project, run_cli, setting: str) -> str:
    _layers(proj, setting)
    plans = set(proj.ledger().plans())
    script = {"step_001": [*CHANGES], "step_002": {"1": REJECTED, "2": [{"write": {"two.txt": "2\n"}}]}}
    result = build(run_cli, proj, "plan.yaml", proj.agent(script, f"{setting}.json"))
    assert result.code == 0, result.err
    (plan,) = set(proj.ledger().plans()) - plans
    return plan


def _story(proj: Project, plan: str) -> list[tuple[str, str | None, int | None, str]]:
    return [(e.type.value, e.step, e.attempt, e.summary) for e in proj.events(plan)]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_layered_fork_gives_the_commits_verdicts_and_records_of_a_worktree(files: Project, run_cli) -> None:
    proj = files
    proj.plan(STEPS)
    head = git(proj.root, "rev-parse", "HEAD").strip()
    worktree, layered = _run(proj, run_cli, "off"), _run(proj, run_cli, "on")
    assert proj.worktree(worktree).joinpath(".git").is_file()
    assert not any(proj.worktree(layered).iterdir())  # on the host: an empty directory
    for step in ("step_001", "step_002"):
        trees = [
            git(proj.root, "rev-parse", f"{proj.branch(p)}~{step == 'step_001':d}^{{tree}}")
            for p in (worktree, layered)
        ]
        assert trees[0] == trees[1]
    assert _story(proj, worktree) == _story(proj, layered)
    verdicts = [json.loads(proj.record(VERDICT, p)) for p in (worktree, layered)]
    assert verdicts[0] == verdicts[1]
    changed = git(proj.root, "diff", "--raw", "--no-abbrev", head, proj.branch(layered))
    assert "100644 100755" in changed and "\tlink" in changed and "debug.log" not in changed
    assert "same.txt" not in changed and "\tgone.txt" in changed and "lib/c.py" in changed
    # the user's checkout as it was (but the policy this test edits), the base checkout as its commit
    assert git(proj.root, "status", "--porcelain").split() == ["M", ".conductor/policy.yaml"]
    base = private_state(proj.root, proj.root / ".git") / "base"
    shown = sorted(str(p.relative_to(base / "files")) for p in (base / "files").rglob("*") if p.is_file())
    assert shown == sorted([".git", *git(proj.root, "ls-files").split()])
    assert git(proj.root, "worktree", "list").count("\n") == 2  # the checkout and the one worktree


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_agent_sees_a_clean_git_and_only_its_own_layered_worktree(files: Project, run_cli) -> None:
    proj = files
    _layers(proj, "on")
    state = private_state(proj.root, proj.root / ".git")
    agent = (
        "git status --porcelain; echo '--'; git diff --stat; echo '--';"
        f" echo hi > hi.txt; git status --porcelain; echo '--'; find {state} -maxdepth 3 | sort"
    )
    proj.plan([{"title": "Look", "instruction": "look"}])
    first = build(run_cli, proj, "plan.yaml", f"sh -c {agent!r}")
    assert first.code == 0, first.err
    seen = proj.record("evidence/step_001/attempt_1/stdout.log").split("--\n")
    assert seen[0] == "" and seen[1] == ""  # clean at the start of the step
    assert seen[2] == "?? hi.txt\n"
    assert "/layers" not in seen[3] and "/base" not in seen[3], seen[3]
    # a second fork (another plan) cannot see the first one's layers either
    second = build(run_cli, proj, "plan.yaml", f"sh -c {agent!r}")
    assert second.code == 0, second.err
    assert (state / "base" / "files" / "app.py").is_file() and (state / "layers").is_dir()
    # clean removes a finished plan's layers with its worktree path; the base stays for the next
    assert run_cli("clean").code == 0
    assert not any((state / "layers").iterdir()), list((state / "layers").rglob("*"))
    assert not any(proj.worktree(plan).exists() for plan in proj.ledger().plans())
    assert (state / "base" / "files" / "app.py").is_file()


def test_explore_runs_layered_forks_in_parallel(files: Project, run_cli) -> None:
    proj = files
    _layers(proj, "on")
    command = "sh -c 'echo done > fork.txt'"
    result = run_cli(
        "explore",
        "Write fork.txt",
        "--strategy",
        "a",
        "--strategy",
        "b",
        "--strategy",
        "c",
        "--exec",
        command,
        "--yes",
    )
    assert result.code == 0, result.err
    plan = proj.only_plan()
    forks = proj.ledger().forks(plan)
    assert len(forks) == 3
    for fork in forks:
        assert (
            git(proj.root, "diff", "--name-only", f"{proj.branch(plan, fork)}~1", proj.branch(plan, fork))
            == "fork.txt\n"
        )
    assert git(proj.root, "worktree", "list").count("\n") == 1


def test_without_the_sandbox_a_fork_falls_back_to_a_worktree_and_says_why(files: Project, run_cli) -> None:
    proj = files
    _layers(proj, "on", sandbox="off")
    proj.plan([{"title": "Write", "instruction": "write"}])
    result = build(run_cli, proj, "plan.yaml", proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}]}))
    assert result.code == 0, result.err
    assert "a git worktree, not layers (workspace.layers: on): the sandbox is off" in result.err
    assert proj.worktree().joinpath(".git").is_file()


@pytest.mark.slow
def test_auto_layers_only_repositories_of_many_tracked_files(files: Project, run_cli) -> None:
    from conductor.models.defaults import LAYERED_FILES
    from conductor.runner.place.choice import tracked_files

    proj = files
    assert tracked_files(proj.root / ".git") == len(git(proj.root, "ls-files").split())
    _layers(proj, "auto")
    proj.plan([{"title": "Write", "instruction": "write"}])
    small = build(run_cli, proj, "plan.yaml", proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}]}))
    assert small.code == 0, small.err
    assert proj.worktree().joinpath(".git").is_file()  # a small repository keeps a worktree to cd into
    assert "not layers" not in small.err  # and says nothing: auto asked for nothing
    for i in range(LAYERED_FILES):
        (proj.root / "many" / f"{i // 100}").mkdir(parents=True, exist_ok=True)
        (proj.root / "many" / f"{i // 100}" / f"{i}.txt").write_text("")
    git(proj.root, "add", "many")
    git(proj.root, "commit", "-q", "-m", "many files")
    plans = set(proj.ledger().plans())
    big = build(run_cli, proj, "plan.yaml", proj.agent({"step_001": [{"write": {"b.txt": "b\n"}}]}))
    assert big.code == 0, big.err
    (plan,) = set(proj.ledger().plans()) - plans
    assert not proj.worktree(plan).joinpath(".git").exists()
    assert git(proj.root, "diff", "--name-only", f"{proj.branch(plan)}~1", proj.branch(plan)) == "b.txt\n"
    # where the machine cannot mount layers (a mount cannot name a state directory with a ','),
    # auto says why a big repository's fork costs a checkout
    path = proj.root / ".conductor" / "policy.yaml"
    policy = yaml.safe_load(path.read_text())
    policy["workspace"]["worktrees"] = str(proj.root.parent / "state,here")
    path.write_text(yaml.safe_dump(policy))
    fallback = build(run_cli, proj, "plan.yaml", proj.agent({"step_001": [{"write": {"c.txt": "c\n"}}]}))
    assert fallback.code == 0, fallback.err
    assert "a git worktree, not layers (workspace.layers: auto): the path" in fallback.err, fallback.err


def test_layers_are_not_offered_where_a_mount_cannot_name_the_state_directory(tmp_path: Path) -> None:
    assert overlay.unavailable(tmp_path / "layers") is None
    reason = overlay.unavailable(tmp_path / "a,b")
    assert reason is not None and "cannot name" in reason


def test_the_workspace_setup_and_copies_are_a_layer_of_their_own(files: Project, run_cli) -> None:
    """What workspace.copy and workspace.setup leave is under every attempt, in both kinds of
    worktree alike, and never part of a step."""
    proj = files
    (proj.root / ".env").write_text("SECRET_PLACE=here\n")  # untracked: copied, not committed
    proj.plan(
        [
            {
                "title": "Use the workspace",
                "instruction": "use it",
                "verify": ["test -f .venv/marker && test -f .env"],
            }
        ]
    )
    command = "sh -c 'cat .env > out.txt && cat .venv/marker >> out.txt && echo more >> .venv/marker'"
    runs = []
    for setting in ("off", "on"):
        _layers(proj, setting)
        path = proj.root / ".conductor" / "policy.yaml"
        policy = yaml.safe_load(path.read_text())
        policy["workspace"].update(setup=["mkdir -p .venv && echo made > .venv/marker"], copy=[".env"])
        path.write_text(yaml.safe_dump(policy))
        plans = set(proj.ledger().plans())
        result = build(run_cli, proj, "plan.yaml", command)
        assert result.code == 0, result.err
        (plan,) = set(proj.ledger().plans()) - plans
        runs.append(plan)
    worktree, layered = runs
    assert not proj.worktree(layered).joinpath(".git").exists()
    trees = [git(proj.root, "rev-parse", f"{proj.branch(p)}^{{tree}}") for p in runs]
    assert trees[0] == trees[1]
    assert git(proj.root, "show", f"{proj.branch(layered)}:out.txt") == "SECRET_PLACE=here\nmade\n"
    assert _story(proj, worktree) == _story(proj, layered)


def test_an_agents_scratch_files_are_never_a_layered_change(files: Project, run_cli) -> None:
    proj = files
    (proj.root / ".conductor" / "agents.yaml").write_text(
        "version: 1\nagents:\n  jotter:\n    description: leaves a chat log\n    program: sh\n"
        "    command: sh -c 'echo chat > .jotter-log && mkdir -p .jotter && echo c > .jotter/cache"
        " && echo n > notes.md'\n    scratch: [.jotter*]\n"
    )
    git(proj.root, "add", ".conductor/agents.yaml")
    git(proj.root, "commit", "-qm", "an agent with scratch files")
    proj.plan([{"title": "Notes", "instruction": "notes"}])
    runs = []
    for setting in ("off", "on"):
        _layers(proj, setting)
        plans = set(proj.ledger().plans())
        result = run_cli("build", "--plan", "plan.yaml", "--agent", "jotter", "--yes")
        assert result.code == 0, result.err
        (plan,) = set(proj.ledger().plans()) - plans
        runs.append(plan)
    assert not proj.worktree(runs[1]).joinpath(".git").exists()
    changed = [git(proj.root, "diff", "--name-only", f"{proj.branch(p)}~1", proj.branch(p)) for p in runs]
    assert changed[0] == changed[1] == "notes.md\n"
    assert _story(proj, runs[0]) == _story(proj, runs[1])


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_the_base_moves_to_a_far_tip_when_no_process_holds_it(files: Project, run_cli) -> None:
    from conductor.runner.place import base

    proj = files
    _layers(proj, "on")
    proj.plan([{"title": "Write", "instruction": "write"}])
    command = proj.agent({"step_001": [{"write": {"a.txt": "a\n"}}]})

    def build_apart(*extra: str) -> str:  # a process holds the base its forks used until it ends
        plans = set(proj.ledger().plans())
        argv = ("build", "--plan", "plan.yaml", "--exec", command, "--yes", *extra)
        result = run_process(conductor_bin(), *argv, cwd=proj.root)
        assert result.code == 0, result.err
        (plan,) = set(proj.ledger().plans()) - plans
        return plan

    build_apart()
    checkout = private_state(proj.root, proj.root / ".git") / "base"
    old = (checkout / "commit").read_text().strip()
    for i in range(base.MOVES_AFTER):
        (proj.root / "many" / f"{i}.txt").parent.mkdir(exist_ok=True)
        (proj.root / "many" / f"{i}.txt").write_text(f"{i}\n")
    (proj.root / "gone.txt").unlink()
    git(proj.root, "add", "many", "gone.txt")
    git(proj.root, "commit", "-q", "-m", "far away")
    far = build_apart()
    assert (checkout / "commit").read_text().strip() == git(proj.root, "rev-parse", "HEAD").strip() != old
    assert (checkout / "files" / "many" / "7.txt").is_file() and not (
        checkout / "files" / "gone.txt"
    ).exists()
    assert git(proj.root, "diff", "--name-only", f"{proj.branch(far)}~1", proj.branch(far)) == "a.txt\n"
    # a fork far behind the moved base: its delta says so (the last build: this process may hold it)
    plans = set(proj.ledger().plans())
    assert build(run_cli, proj, "plan.yaml", command, "--base", old).code == 0
    (back,) = set(proj.ledger().plans()) - plans
    assert git(proj.root, "diff", "--name-only", old, proj.branch(back)) == "a.txt\n"


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_layered_fork_resumed_with_an_ide_agent_gets_a_worktree_it_can_open(
    files: Project, run_cli
) -> None:
    """An IDE agent works on the host, where layers are not mounted: a layered fork whose
    executor becomes handoff gets a real git worktree at the fork's tip for the rest."""
    from tests.runner.test_handoff import pending, report, start

    proj = files
    _layers(proj, "on")
    proj.plan([{"title": "One", "instruction": "one"}, {"title": "Two", "instruction": "two"}])
    script = {
        "step_001": [{"write": {"out.txt": "one\n"}, "delete": ["gone.txt"]}],
        "step_002": [{"exit": 127}],
    }
    first = build(run_cli, proj, "plan.yaml", proj.agent(script))
    halted = proj.events()[-1]
    assert first.code == 1 and halted.type.value == "fork.halted", first.err
    assert halted.summary.startswith("Executor could not start")
    plan = proj.only_plan()
    assert not (proj.worktree(plan) / ".git").exists()  # it ran layered

    proc = start(proj, "resume", plan, "--executor", "handoff", "--yes")
    task = pending(proj, "step_002", attempt=2)
    workspace = Path(task["workspace"])
    assert (workspace / ".git").is_file() and (workspace / "out.txt").read_text() == "one\n"
    assert not (workspace / "gone.txt").exists()  # step 1's deletion is in it too
    (workspace / "two.txt").write_text("2\n")
    report(proj, task, files_changed=["two.txt"])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "a git worktree, not layers (workspace.layers: on): its executor is not a process" in err
    shown = git(proj.root, "show", "--name-status", "--format=", proj.branch(plan))
    assert shown.split() == ["A", "two.txt"]
    assert git(proj.root, "show", f"{proj.branch(plan)}:out.txt") == "one\n"


def test_a_layered_change_in_new_folders_that_waits_for_a_person_is_approved_whole(
    files: Project, run_cli
) -> None:
    """After the verify commands, the attempt's layer is put back as observed — its new folders
    with the files in them — so the change a person approves is the one that was verified."""
    proj = files
    _layers(proj, "on")
    written = {f".github/workflows/w{i}.yml": f"on: push {i}\n" for i in range(10)}
    step = {"title": "CI", "instruction": "ci", "allowed_files": ["**"], "verify": ["true"]}
    plan = proj.plan([step])
    halted = run_cli("build", "--plan", plan, "--exec", proj.agent({"*": [{"write": written}]}))
    assert halted.code == 1 and "needs a person: its change touches .github/" in halted.err, halted.err
    assert not (proj.worktree() / ".git").exists()  # it ran layered
    approved = run_cli("approve", "step_001")
    assert approved.code == 0, approved.err
    shown = git(proj.root, "show", "--name-only", "--format=", proj.branch())
    assert shown.split() == sorted(written)


def _tracked(proj: Project, count: int) -> None:
    """`count` more tracked files under many/, committed: empty files, put in the index by git
    at once and then checked out, faster than writing and adding each."""
    empty = git(proj.root, "hash-object", "-w", "--stdin", input="").strip()
    lines = "".join(f"100644 {empty}\tmany/{i // 100}/{i}.txt\n" for i in range(count))
    git(proj.root, "update-index", "--add", "--index-info", input=lines)
    git(proj.root, "commit", "-q", "-m", "many files")
    git(proj.root, "checkout", "-q", "--", "many")


@pytest.mark.slow
def test_an_auto_layered_fork_stays_layered_when_the_checkout_shrinks(files: Project, run_cli) -> None:
    """workspace.layers: auto weighs the repository when a fork is made: a layered fork whose
    change waits for a person keeps it in its layers, however many files the checkout has then."""
    from conductor.models.defaults import LAYERED_FILES

    proj = files
    _tracked(proj, LAYERED_FILES)
    _layers(proj, "auto")
    step = {"title": "CI", "instruction": "ci", "allowed_files": ["**"], "verify": ["true"]}
    plan = proj.plan([step])
    agent = proj.agent({"*": [{"write": {".github/ci.yml": "on: push\n"}}]})
    halted = run_cli("build", "--plan", plan, "--exec", agent)
    assert halted.code == 1 and "needs a person" in halted.err, halted.err
    assert not (proj.worktree() / ".git").exists()  # it ran layered
    git(proj.root, "rm", "-r", "-q", "--cached", "many")  # the checkout is small now
    approved = run_cli("approve", "step_001")
    assert approved.code == 0, approved.err
    assert git(proj.root, "show", "--name-only", "--format=", proj.branch()) == ".github/ci.yml\n"
    assert not (proj.worktree() / ".git").exists()


def test_a_layered_fork_works_in_a_repository_set_up_for_many_files(files: Project, run_cli) -> None:
    """feature.manyFiles (what big repositories set, and Scalar) makes git write version 4
    indexes: the base checkout's stays one the agent's private git gets as it is."""
    proj = files
    git(proj.root, "config", "feature.manyFiles", "true")
    _layers(proj, "on")
    proj.plan([{"title": "Write", "instruction": "write", "verify": ["git status --porcelain"]}])
    result = build(
        run_cli,
        proj,
        "plan.yaml",
        "sh -c 's=$(git status --porcelain); printf %s \"$s\" > seen.txt; echo a > a.txt'",
    )
    assert result.code == 0, result.err
    assert not (proj.worktree() / ".git").exists()  # it ran layered
    assert git(proj.root, "show", f"{proj.branch()}:seen.txt") == ""  # a clean git at the start
    assert git(proj.root, "show", f"{proj.branch()}:a.txt") == "a\n"
