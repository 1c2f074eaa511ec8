"""Smaller truths a newcomer and a reviewer hit (issue 20, point 7): the published plan schema,
unknown plans, "after" a step, an empty dry run, metrics that add up, abandoned steps, why a push
failed, a step in several forks, and which plan `pr` opens — each through the CLI."""

from __future__ import annotations

import http.server
import json
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import pytest
import yaml

from conductor.runner.plan.launch import load_plan_file
from tests.conftest import ROOT, conductor_bin, free_port, git, wait_until
from tests.scenario import TWO_FORKS, Project, build

WRITE_A = {"write": {"a.txt": "a\n"}}
ONE_STEP = [{"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["a.txt"]}]
THREE = [
    {"title": f"Write {name}", "instruction": f"Write {name}", "allowed_files": [name]}
    for name in ("a.txt", "b.txt", "c.txt")
]
WRITES = {
    f"step_00{i}": [{"write": {name: f"{name}\n"}}] for i, name in enumerate(("a.txt", "b.txt", "c.txt"), 1)
}


def completed_plan(proj: Project, run_cli, name: str = "a.yaml") -> str:
    result = build(run_cli, proj, proj.plan(ONE_STEP, name=name), proj.agent({"*": [WRITE_A]}), "--json")
    assert result.code == 0, result.err
    return str(json.loads(result.out)["plan"])


def abandoned_while_pending(proj: Project, run_cli, name: str = "wait.yaml") -> str:
    """A plan whose step_001 was handed out (pending: nobody claimed it) when it was abandoned:
    a handoff build, stopped with Ctrl-C while it waits for an agent, then `conductor abandon`."""
    plan_file = proj.plan(ONE_STEP, name=name)
    known = set(proj.ledger().plans())
    running = subprocess.Popen(
        [conductor_bin(), "build", "--plan", plan_file, "--executor", "handoff", "--yes"],
        cwd=proj.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        new = lambda: set(proj.ledger().plans()) - known  # noqa: E731
        wait_until(
            lambda: bool(new()) and any(e.type.value == "task.created" for e in proj.events(*new())),
            what="the task to be handed out",
        )
    finally:
        running.send_signal(signal.SIGINT)
        running.wait(30)
    (plan,) = new()
    ended = run_cli("abandon", plan, "--reason", "not needed")
    assert ended.code == 0, ended.err
    return plan


def completed_then_abandoned(prebuilt, run_cli) -> tuple[str, str]:
    """A project (the current directory) where a plan completed, then another was abandoned
    while its step was pending — made once per test process: their ids."""

    def make(proj: Project) -> None:
        plans = [completed_plan(proj, run_cli), abandoned_while_pending(proj, run_cli)]
        (proj.scripts / "plans.json").write_text(json.dumps(plans))

    made = prebuilt("completed-then-abandoned", make)
    done, abandoned = json.loads((made.scripts / "plans.json").read_text())
    return done, abandoned


# a. the published plan schema accepts what the loader accepts


def tutorial_plans() -> list[str]:
    """The plan files docs/tutorial.md has the reader write (`cat > plan.yaml <<'EOF'`)."""
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    return re.findall(r"cat > (?:\S+/)?plan[\w.-]*\.ya?ml <<'EOF'\n(.*?)\nEOF\n", text, re.S)


def test_the_published_plan_schema_accepts_every_plan_the_loader_accepts(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = run_cli("schema", "plan")
    assert printed.code == 0
    published = json.loads(printed.out)
    assert published == json.loads((ROOT / "docs" / "schemas" / "plan.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(published)
    jsonschema.Draft202012Validator.check_schema(published)
    taught = tutorial_plans()
    assert taught and all("steps:" in text for text in taught)  # the shorthand the tutorial teaches
    monkeypatch.chdir(tmp_path)

    def loads(text: str) -> bool:
        (tmp_path / "plan.yaml").write_text(text)
        try:
            load_plan_file("plan.yaml")
        except Exception:
            return False
        return True

    accepted = [*taught, yaml.safe_dump(TWO_FORKS, sort_keys=False)]
    for text in accepted:
        assert loads(text), text
        assert list(validator.iter_errors(yaml.safe_load(text))) == [], text
    step = {"title": "t", "instruction": "i"}
    refused = [
        {"goal": "both", "steps": [step], "forks": [{"id": "main", "steps": [step]}]},
        {"goal": "neither"},
        {"goal": "no steps", "steps": []},
        {"goal": "a typo", "step": [step]},
    ]
    for data in refused:
        assert not loads(yaml.safe_dump(data)), data
        assert not validator.is_valid(data), data


# b. events of an unknown plan


def test_events_of_an_unknown_plan_say_so_and_name_the_known_ones(proj: Project, run_cli) -> None:
    plan = completed_plan(proj, run_cli)
    result = run_cli("events", "--plan", "no-such-plan")
    assert result.code == 1, result.out
    assert "no plan 'no-such-plan'" in result.err and f"known plans: {plan}" in result.err
    assert "No events match" not in result.err + result.out
    # a filter that matches nothing in a plan that exists is still no match, not an error
    none = run_cli("events", "--plan", plan, "--type", "task.timed_out")
    assert none.code == 0 and "No events match." in none.err


# c. a fork from a step runs the steps after it


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_a_fork_from_a_step_says_it_runs_after_that_step(proj: Project, run_cli) -> None:
    built = build(run_cli, proj, proj.plan(THREE), proj.agent(WRITES), "--json")
    assert built.code == 0, built.err
    old = json.loads(built.out)["plan"]
    result = run_cli(
        "fork", "--from", f"{old}/main@step_002", "--exec", proj.agent(WRITES), "--yes", "--json"
    )
    assert result.code == 0, result.err
    new = json.loads(result.out)["plan"]
    assert f"the rest of {old}/main after step_002" in result.err
    assert "the code as step_002 was accepted: the new plan runs after it" in result.err
    assert "from step_002" not in result.err
    assert f"[{new}/main] step_003 (attempt 1)" in result.err
    assert "after step_002" in run_cli("compare", new).out


# d. a dry run with nothing to archive


def test_a_dry_run_with_nothing_to_archive_says_so_in_a_sentence(proj: Project, run_cli) -> None:
    completed_plan(proj, run_cli)  # finished just now: too recent for the default age
    dry = run_cli("archive", "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.startswith("Nothing would be archived: no plan finished 7d ago or more is live.")
    assert not any(line.rstrip().endswith(":") for line in dry.out.splitlines()), dry.out


# e. metrics that add up


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_handoff_metrics_count_every_task_once_an_abandoned_one_too(prebuilt, run_cli) -> None:
    _, plan = completed_then_abandoned(prebuilt, run_cli)
    metrics = json.loads(run_cli("handoff-metrics", "--json").out)
    assert metrics["tasks"] == 2 and sum(metrics["by_state"].values()) == metrics["tasks"]
    assert metrics["by_state"]["completed"] == 1 and metrics["by_state"]["abandoned"] == 1
    assert metrics["success_rate"] == 1.0  # of the tasks with a verdict
    shown = run_cli("handoff-metrics").out
    assert "1 completed, 0 rejected, 0 failed, 0 timed_out, 1 abandoned, 0 open" in shown
    assert "abandoned: handed out, then abandoned (conductor abandon) before a verdict" in shown
    assert "100% (of the 1 task with a verdict)" in shown
    one = json.loads(run_cli("handoff-metrics", "--plan", plan, "--json").out)
    assert one["tasks"] == 1 and one["by_state"]["abandoned"] == 1 and one["success_rate"] is None


# f. an abandoned plan's step


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_an_abandoned_plans_pending_step_reads_abandoned(prebuilt, run_cli) -> None:
    done, plan = completed_then_abandoned(prebuilt, run_cli)
    status = {p["plan"]: p for p in json.loads(run_cli("status", "--json").out)}
    assert [(s["step"], s["state"]) for s in status[plan]["forks"][0]["steps"]] == [("step_001", "abandoned")]
    # a finished step stays
    assert [(s["step"], s["state"]) for s in status[done]["forks"][0]["steps"]] == [("step_001", "completed")]
    text = run_cli("status").out
    assert "1 abandoned" in text and "pending" not in text
    explained = run_cli("explain", "step_001", "--plan", plan)
    assert explained.code == 0, explained.err
    assert explained.out.splitlines()[0].endswith("[abandoned]")
    assert "no verdict: the fork was abandoned before one came" in explained.out
    assert json.loads(run_cli("explain", "step_001", "--plan", plan, "--json").out)["state"] == "abandoned"


# g. why a push failed


class Unauthorized(http.server.BaseHTTPRequestHandler):
    """A git host that wants credentials for everything."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def asking_for_credentials() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unauthorized)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)  # stop fast
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/o/r.git"
    finally:
        server.shutdown()
        server.server_close()


def test_a_failed_push_says_why_it_failed(
    proj: Project, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_API_URL", raising=False)  # the remotes here are not GitHub
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")  # no one to type a password
    plan = completed_plan(proj, run_cli)
    race = "someone else pushed"

    git(proj.root, "remote", "add", "origin", str(tmp_path / "nowhere.git"))
    missing = run_cli("pr", plan)
    assert missing.code == 1 and "no pull request was made" in missing.err
    assert f"there is no repository at {tmp_path / 'nowhere.git'}" in missing.err
    assert "git remote set-url origin URL" in missing.err and race not in missing.err

    with asking_for_credentials() as url:
        git(proj.root, "remote", "set-url", "origin", url)
        refused = run_cli("pr", plan)
    assert refused.code == 1 and f"{url} refused the credentials" in refused.err, refused.err
    assert "write access" in refused.err and race not in refused.err

    git(proj.root, "remote", "set-url", "origin", f"http://127.0.0.1:{free_port()}/o/r.git")
    unreachable = run_cli("pr", plan)
    assert unreachable.code == 1 and "could not be reached" in unreachable.err, unreachable.err
    assert race not in unreachable.err

    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(proj.root, "remote", "set-url", "origin", str(bare))
    theirs = git(proj.root, "commit-tree", "-m", "theirs", "HEAD^{tree}").strip()
    # someone else's commit on the branch (pushed by URL: this clone has no tracking ref for it)
    git(proj.root, "push", "-q", "--no-verify", str(bare), f"{theirs}:refs/heads/conductor/{plan}/main")
    moved = run_cli("pr", plan)
    assert moved.code == 1 and race in moved.err, moved.err
    assert f"conductor/{plan}/main on origin has commits this clone does not have" in moved.err
    assert "hint: Updates were rejected" not in moved.err  # git's advice is not passed off as ours


# h. a step in several forks


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_explain_refuses_to_guess_the_fork_of_a_step_in_several(proj: Project, run_cli) -> None:
    (proj.root / "forks.yaml").write_text(yaml.safe_dump(TWO_FORKS, sort_keys=False))
    git(proj.root, "add", "forks.yaml")
    git(proj.root, "commit", "-q", "-m", "forks")
    script = proj.agent(
        {"step_001": [{"write": {"notes.md": "n\n"}}], "step_002": [{"write": {"more.md": "m\n"}}]}
    )
    explored = run_cli("explore", "--plan", "forks.yaml", "--exec", script, "--yes", "--json")
    assert explored.code == 0, explored.err
    plan = json.loads(explored.out)["plan"]
    for args in (["--plan", plan], []):
        refused = run_cli("explain", "step_001", *args)
        assert refused.code == 1, refused.out
        assert f"step_001 is in 2 forks of plan {plan}: long, short" in refused.err
        assert f"conductor explain step_001 --plan {plan} --fork long" in refused.err
    chosen = run_cli("explain", "step_001", "--plan", plan, "--fork", "short")
    assert chosen.code == 0 and chosen.out.startswith(f"step_001 of {plan}/short:")
    only = run_cli("explain", "step_002", "--plan", plan)  # in one fork only: no doubt
    assert only.code == 0 and only.out.startswith(f"step_002 of {plan}/long:")


# i. the plan `pr` opens when none is named


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_pr_without_a_plan_opens_the_newest_plan_not_abandoned(
    proj: Project, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(proj.root, "remote", "add", "origin", str(bare))
    abandoned_first = abandoned_while_pending(proj, run_cli, "first.yaml")
    refused = run_cli("pr")
    assert refused.code == 1 and "every plan recorded here was abandoned" in refused.err
    assert "conductor pr PLAN" in refused.err
    assert git(bare, "for-each-ref") == ""  # nothing pushed
    done = completed_plan(proj, run_cli)
    newest = abandoned_while_pending(proj, run_cli, "second.yaml")
    assert newest != abandoned_first
    result = run_cli("pr", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["plan"] == done
    assert f"plan {done}, the newest plan not abandoned" in result.err


def test_the_hints_of_a_failed_plan_of_several_forks_name_the_fork_explain_needs(
    proj: Project, run_cli
) -> None:
    forks = {**TWO_FORKS, "policy": {"behavior": {"max_attempts": 1}}}
    (proj.root / "forks.yaml").write_text(yaml.safe_dump(forks, sort_keys=False))
    git(proj.root, "add", "forks.yaml")
    git(proj.root, "commit", "-q", "-m", "add forks.yaml")
    agent = proj.agent({"*": [{"exit": 3}]})
    failed = run_cli("explore", "--plan", "forks.yaml", "--exec", agent, "--yes")
    assert failed.code == 1, failed.out + failed.err
    plan_id = proj.only_plan()
    assert f"Details: conductor explain <step> --plan {plan_id} --fork <fork>" in failed.out + failed.err

    resumed = run_cli("resume", plan_id)
    assert resumed.code == 1
    hinted = re.search(r"see why with `conductor (explain [^`]+)`", resumed.err)
    assert hinted is not None, resumed.err
    assert "--fork " in hinted.group(1)
    shown = run_cli(*hinted.group(1).split())  # the hint, run as given
    assert shown.code == 0, shown.err
