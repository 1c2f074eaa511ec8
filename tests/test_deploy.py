"""deploy/: the worker image recipe and the example manifests parse, have the shape their
engines expect, and call the CLI only with commands and options that exist.

No container engine runs here: the Dockerfile is read instruction by instruction, and every
`conductor ...` command line in the three files is checked against the real click command
tree (conductor.cli.app's group), so renaming or removing an option breaks this test.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

import conductor.cli  # noqa: F401  (importing it registers every command on the group)
from conductor.cli import app
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
WORKFLOW = DEPLOY / "github-actions-workers.yml"
JOB = DEPLOY / "kubernetes-worker-job.yaml"
SHELL_OPERATORS = {"|", "||", "&", "&&", ";", ";;", "(", ")", "<", ">", ">>"}


def the_group() -> click.Group:
    groups = [value for value in vars(app).values() if isinstance(value, click.Group)]
    assert len(groups) == 1, groups
    return groups[0]


def option_of(command: click.Command, token: str) -> click.Parameter | None:
    name = token.split("=", 1)[0]
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def is_placeholder(value: str) -> bool:
    """A value the engine fills in: $VAR, ${VAR}, $(VAR) (Kubernetes), ${{ ... }} (Actions)."""
    return value.startswith("$")


def check_command_line(argv: list[str]) -> list[str]:
    """Problems with `conductor ARGV`: an unknown command or option, a missing required
    option, a literal value its option's type refuses. Empty when the CLI would accept it."""
    problems: list[str] = []
    group = the_group()
    command: click.Command = group
    seen: set[str] = set()
    args = list(argv)
    while args:
        token = args.pop(0)
        if token.startswith("-") and token != "-":
            param = option_of(command, token)
            if param is None:
                problems.append(f"`conductor {shlex.join(argv)}`: {command.name} has no option {token}")
                continue
            seen.add(param.name or "")
            if isinstance(param, click.Option) and (param.is_flag or param.count):
                continue
            value = token.split("=", 1)[1] if "=" in token else (args.pop(0) if args else None)
            if value is None:
                problems.append(f"`conductor {shlex.join(argv)}`: {token} needs a value")
            elif not is_placeholder(value):
                try:
                    param.type.convert(value, param, None)
                except click.BadParameter as exc:
                    problems.append(f"`conductor {shlex.join(argv)}`: {token} {value}: {exc.message}")
        elif isinstance(command, click.Group):
            sub = command.commands.get(token)
            if sub is None:
                problems.append(f"`conductor {shlex.join(argv)}`: no command {token}")
                return problems
            command, seen = sub, set()
        else:
            problems.append(f"`conductor {shlex.join(argv)}`: {command.name} takes no argument {token}")
    if isinstance(command, click.Group):
        problems.append(f"`conductor {shlex.join(argv)}`: no command given")
    for param in command.params:
        if param.required and param.name not in seen and isinstance(param, click.Option):
            problems.append(f"`conductor {shlex.join(argv)}`: {command.name} requires {param.opts[0]}")
    return problems


WRAPPERS = {"exec", "env", "nice", "nohup", "sudo", "time", "timeout"}


def shell_commands(script: str) -> list[list[str]]:
    """Every `conductor ...` run by a shell script (as a command, also under `timeout`,
    `exec` and the like), as argv after the program name."""
    joined = re.sub(r"\\\n", " ", script)
    found = []
    for line in joined.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        at_command = True
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token in SHELL_OPERATORS:
                at_command = True
            elif at_command and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token):
                pass  # VAR=value before the command
            elif at_command and token in WRAPPERS:
                while i + 1 < len(tokens) and tokens[i + 1].startswith("-"):
                    i += 1
                if token == "timeout":
                    i += 1  # its duration
            elif at_command:
                at_command = False
                if token == "conductor" or token.endswith("/conductor"):
                    rest = []
                    for arg in tokens[i + 1 :]:
                        if arg in SHELL_OPERATORS:
                            break
                        rest.append(arg)
                    found.append(rest)
            i += 1
    return found


# --- the Dockerfile ---------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    assert not pending, "a continuation line ends the file"
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    start = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[start:]


def test_the_dockerfile_builds_a_non_root_conductor_worker_image() -> None:
    steps = instructions(DOCKERFILE.read_text())
    assert steps[0][0] == "FROM"
    final = final_stage(steps)
    base = final[0][1].split()[0]
    match = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", base)
    assert match and int(match.group(1)) >= 11, base
    runs = " ".join(args for keyword, args in final if keyword == "RUN")
    installed = re.search(r"apt-get install ([^&;]+)", runs)
    assert installed and {"git", "bubblewrap"} <= set(installed.group(1).split())
    # the package from this source tree: a wheel of `.` in the first stage, installed in the last
    assert any(kw == "RUN" and re.search(r"pip (wheel|install)\b.* \.$", args) for kw, args in steps)
    assert "pip install" in runs
    users = [args for keyword, args in final if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entrypoint = [exec_form(args) for keyword, args in final if keyword == "ENTRYPOINT"]
    cmd = [exec_form(args) for keyword, args in final if keyword == "CMD"]
    assert entrypoint[-1] == ["conductor"]
    assert cmd[-1][:3] == ["worker", "--remote", "origin"]


def test_the_dockerfile_context_keeps_what_the_wheel_needs() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "*" in ignore
    for needed in ("pyproject.toml", "README.md", "conductor/"):
        assert f"!{needed}" in ignore


# --- GitHub Actions -----------------------------------------------------------------------


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_the_actions_workflow_runs_a_matrix_of_workers_that_may_push() -> None:
    workflow = load(WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(triggers, dict) and triggers
    assert isinstance(workflow["jobs"], dict) and workflow["jobs"]
    permissions = workflow.get("permissions", {})
    for job_id, job in workflow["jobs"].items():
        assert job["runs-on"], job_id
        matrix = job["strategy"]["matrix"]
        assert isinstance(matrix, dict) and any(isinstance(v, list) and len(v) >= 2 for v in matrix.values())
        steps = job["steps"]
        assert steps and all(("uses" in s) != ("run" in s) for s in steps), job_id
        uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
        assert uses["actions/checkout"]["with"]["fetch-depth"] == 0
        assert "actions/setup-python" in uses
        runs = "\n".join(s["run"] for s in steps if "run" in s)
        # no release on PyPI yet: Conductor comes from its repository
        assert re.search(r'pip install .*"git-conductor @ git\+https://\S+"', runs)
        assert "git config --global user.name" in runs and "git config --global user.email" in runs
        assert {**permissions, **job.get("permissions", {})}.get("contents") == "write"
        workers = [argv for argv in shell_commands(runs) if argv[:1] == ["worker"]]
        assert workers and all(argv[argv.index("--remote") + 1] == "origin" for argv in workers)


# --- Kubernetes ---------------------------------------------------------------------------


def test_the_kubernetes_job_runs_parallel_workers_with_a_git_credential_from_a_secret() -> None:
    job = load(JOB)
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    spec = job["spec"]
    assert isinstance(spec["parallelism"], int) and spec["parallelism"] >= 2
    assert "completions" not in spec or spec.get("completionMode") == "Indexed"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    assert pod["securityContext"]["runAsNonRoot"] is True
    containers = pod["containers"]
    assert containers and all(c["image"] and c["name"] for c in containers)
    worker = containers[0]
    assert worker["args"][:3] == ["worker", "--remote", "origin"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    mounted = {m["name"] for c in [*pod.get("initContainers", []), worker] for m in c["volumeMounts"]}
    assert secrets and set(secrets) <= mounted
    env = {e["name"]: e.get("value") for e in worker["env"]}
    keys = [k for k in env if k.startswith("GIT_CONFIG_KEY_")]
    assert int(env["GIT_CONFIG_COUNT"]) == len(keys)
    assert "credential.helper" in [env[k] for k in keys]
    # the clone the worker runs in is made before it, with the same credential
    clone = pod["initContainers"][0]
    assert clone["command"][:2] == ["git", "clone"] and worker["workingDir"].startswith("/work")


# --- every conductor command line -----------------------------------------------------------


def command_lines() -> list[tuple[str, list[str]]]:
    lines = []
    steps = instructions(DOCKERFILE.read_text())
    entry = [exec_form(a) for k, a in final_stage(steps) if k == "ENTRYPOINT"][-1]
    cmd = [exec_form(a) for k, a in final_stage(steps) if k == "CMD"][-1]
    lines.append(("Dockerfile", entry[1:] + cmd))
    for _, args in steps:
        lines.extend(("Dockerfile RUN", argv) for argv in shell_commands(args))
    workflow = load(WORKFLOW)
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            lines.extend(("workflow", argv) for argv in shell_commands(step.get("run", "")))
    pod = load(JOB)["spec"]["template"]["spec"]
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        command = container.get("command") or entry  # the image's entrypoint is conductor
        if Path(command[0]).name == "conductor":
            lines.append((f"job {container['name']}", [*command[1:], *container.get("args", [])]))
    return lines


def test_every_conductor_command_in_deploy_exists_in_the_cli() -> None:
    lines = command_lines()
    sources = {source for source, _ in lines}
    assert {"Dockerfile", "workflow", "job worker"} <= sources, sources
    problems = [p for _, argv in lines for p in check_command_line(argv)]
    assert problems == []


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["worker", "--remote", "origin", "--exec", "x", "--no-such-option"], "no option --no-such-option"),
        (["worker", "--exec", "x"], "requires --remote"),
        (["worker", "--remote", "origin", "--exec", "x", "--jobs", "0"], "--jobs 0"),
        (["wroker", "--remote", "origin"], "no command wroker"),
        (["-C", "/repo", "worker", "--exec", "x", "--remote", "origin", "--once"], None),
    ],
)
def test_the_command_line_check_catches_what_the_cli_refuses(argv: list[str], problem: str | None) -> None:
    problems = check_command_line(argv)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems
