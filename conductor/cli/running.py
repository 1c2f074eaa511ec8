"""Commands that run plans: build, explore, fork, resume, replay, worker, demo."""

from __future__ import annotations

from typing import Any

import click

from conductor.cli.app import cli
from conductor.cli.options import (
    base_option,
    finish,
    json_option,
    launch_from,
    launch_options,
    with_options,
)


@cli.command(
    epilog="""\b
Examples:
  conductor build "Add a --verbose flag to cli.py"              the model plans and does it
  conductor build --plan plan.yaml --agent aider --model openai/gpt-5.5   a plan file, run by aider
  conductor build --plan plan.yaml --agent claude                 or Claude Code, codex, gemini
  conductor build "Fix the typo in README.md" --exec ./agent.sh --yes   any command (committed)
  conductor build --plan plan.yaml --executor handoff           tasks as files, for an IDE agent
  conductor build "Backport the fix" --base release-1.2 --exec ./agent.sh   start from a branch

\b
The plan starts from HEAD, or from --base REF: changes you have not committed are not
part of it (Conductor says so when there are any).

\b
Exit status: 0 when every step is accepted; 1 when the plan failed or halted
(a LOW attempt, or a MEDIUM one without verify commands, waits for `conductor approve`;
after Ctrl-C: `conductor resume`).
"""
)
@click.argument("goal", required=False)
@click.option(
    "--plan",
    "plan_file",
    metavar="FILE",
    help="Run the steps of this plan file (see `conductor schema plan`).",
)
@base_option
@with_options(launch_options)
@json_option
def build(goal: str | None, plan_file: str | None, as_json: bool, **launch: Any) -> int:
    """Run a goal or a plan file as one strategy: steps in order, each verified and committed.

    With a model configured (GEMINI_API_KEY, or --llm), the model plans the steps and does them.
    Without one, name who does the steps (--exec CMD, --executor handoff or --remote NAME);
    a goal is then one step.
    """
    from conductor.commands import build as command

    return finish(command.run(goal, plan_file=plan_file, launch=launch_from(launch)), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor explore "Create a Python CLI task manager"             3 strategies from the model
  conductor explore "Add caching" --forks 2 --model gemini-3.8-flash
  conductor explore "Speed up the parser" --strategy "memoize" --strategy "rewrite the tokenizer" \\
      --agent aider
  conductor explore --plan strategies.yaml --exec ./agent.sh      forks written by hand
  conductor explore "Add caching" --strategy "lru" --strategy "redis" --executor handoff --base main

\b
Exit status: 0 when a fork is recommended (the evidence of its verify commands) or every fork
completed (none recommended when no evidence tells them apart), else 1.
"""
)
@click.argument("goal", required=False)
@click.option("--forks", type=click.IntRange(1, 8), help="How many strategies the model plans (default 3).")
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    metavar="TEXT",
    help="A strategy of your own (repeatable): one fork each.",
)
@click.option("--plan", "plan_file", metavar="FILE", help="A plan file with `forks:`.")
@click.option("--jobs", type=click.IntRange(1, 16), help="Forks run at once (default: up to 4).")
@click.option("--no-spawn", is_flag=True, help="Do not plan a new strategy when a fork fails.")
@base_option
@with_options(launch_options)
@json_option
def explore(
    goal: str | None,
    forks: int | None,
    strategies: tuple[str, ...],
    plan_file: str | None,
    jobs: int | None,
    no_spawn: bool,
    as_json: bool,
    **launch: Any,
) -> int:
    """Run several strategies in parallel, one fork branch each; compare them and recommend one."""
    from conductor.commands import explore as command

    return finish(
        command.run(
            goal,
            forks=forks,
            strategies=list(strategies),
            plan_file=plan_file,
            jobs=jobs,
            spawn=not no_spawn,
            launch=launch_from(launch),
            live=False if as_json else None,
        ),
        as_json,
    )


@cli.command(
    epilog="""\b
Examples:
  conductor replay task-manager-3f9a            re-run from the recorded model answers
  conductor replay task-manager-3f9a --verify   exit 1 unless every step gives the same tree
"""
)
@click.argument("plan")
@click.option("--verify", is_flag=True, help="Exit 1 unless every step produced the same tree.")
@json_option
def replay(plan: str, verify: bool, as_json: bool) -> int:
    """Re-run a model-driven plan from its recordings (offline, no key) into new forks."""
    from conductor.commands import replay as command

    return finish(command.run(plan, verify=verify), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor fork --from hello-3f9a/main@step_001 --agent claude   redo the rest with another agent
  conductor fork --from hello-3f9a/main@step_002 --strategy "use sqlite" --strategy "use json"
  conductor fork --from hello-3f9a/main@base --plan other.yaml

\b
A new plan starts from the code as that step was accepted; the old plan is unchanged. The
remaining steps keep their numbers (from step_002, after @step_001).
Exit status as for build: 0 when every fork completed.
"""
)
@click.option("--from", "origin", required=True, metavar="PLAN/FORK@STEP", help="The point to start from.")
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    metavar="TEXT",
    help="A new strategy from there (repeatable: one fork each). Default: the old fork's remaining steps.",
)
@click.option("--plan", "plan_file", metavar="FILE", help="Run this plan file from there instead.")
@with_options(launch_options)
@json_option
def fork(
    origin: str, strategies: tuple[str, ...], plan_file: str | None, as_json: bool, **launch: Any
) -> int:
    """Start a new plan from a point of an old one (the old plan and its history stay)."""
    from conductor.commands import fork as command

    return finish(
        command.run(origin, strategies=list(strategies), plan_file=plan_file, launch=launch_from(launch)),
        as_json,
    )


@cli.command(
    epilog="""\b
Examples:
  conductor resume                      the most recent unfinished plan
  conductor resume hello-3f9a --yes
  conductor resume hello-3f9a --agent aider --model openai/gpt-5.5   the rest with aider
  conductor resume hello-3f9a --executor handoff         the rest as files, for an IDE agent

\b
Without --executor, --exec, --agent, --remote or --llm the plan goes on with the executor it last ran
with. With one, the rest of the plan runs with that executor (as build makes it): the
change is recorded (conductor events shows it) and later resumes keep it. A step handed to the
old executor and not answered goes to the new one as a new attempt, which does not count
against max_attempts. A failed or abandoned plan is not resumed: start again from one of its
steps with `conductor fork --from`.
"""
)
@click.argument("plan", required=False)
@with_options(launch_options)
@json_option
def resume(plan: str | None, as_json: bool, **launch: Any) -> int:
    """Continue a halted or crashed plan exactly where its log ends."""
    from conductor.commands import resume as resume_command

    return finish(resume_command.run(plan, launch=launch_from(launch)), as_json)


@cli.command(
    epilog="""\b
Examples:
  conductor worker --remote origin --agent aider --model openai/gpt-5.5
  conductor worker --remote origin --exec /opt/agents/agent.sh --once     what is queued now, then exit
  conductor worker --remote origin --exec ./agent.sh --jobs 4   up to 4 tasks at once

\b
Run it in a clone of the repository on any machine that can push to the remote. The plan
itself runs elsewhere with `--remote origin` (the remote executor), which verifies and commits
each result. A task is claimed by an atomic push, so no two workers ever do the same one.
"""
)
@click.option(
    "--remote", required=True, metavar="NAME", help="The git remote the plans queue their steps on."
)
@click.option(
    "--exec",
    "command",
    metavar="CMD",
    help="The agent command for each task, run in the task's worktree (a relative path is relative to it).",
)
@click.option(
    "--agent",
    metavar="NAME",
    help="Instead of --exec: a CLI agent Conductor knows (`conductor agents` lists them).",
)
@click.option("--model", help="The agent's model (with --agent).")
@click.option("--base-url", metavar="URL", help="The agent's API address (with --agent).")
@click.option(
    "--name", metavar="NAME", help="This worker's name in claims (default: host name and a number)."
)
@click.option("--once", is_flag=True, help="Do what is queued now, then exit (default: keep polling).")
@click.option(
    "--poll",
    "poll_seconds",
    type=click.FloatRange(0.1, 3600),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="The longest pause between looks at the queue while it is idle (pauses start at 0.05 s).",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    metavar="N",
    help="Do up to N tasks at once, each in a worktree of its own.",
)
@json_option
def worker(
    remote: str,
    command: str | None,
    agent: str | None,
    model: str | None,
    base_url: str | None,
    name: str | None,
    once: bool,
    poll_seconds: float,
    jobs: int,
    as_json: bool,
) -> int:
    """Do steps queued on a git remote by plans that run on other machines."""
    from conductor.commands import worker as worker_command

    return finish(
        worker_command.run(
            remote=remote,
            command=command,
            agent=agent,
            model=model,
            base_url=base_url,
            name=name,
            once=once,
            poll_seconds=poll_seconds,
            jobs=jobs,
        ),
        as_json,
    )


@cli.command(
    epilog="""\b
Examples:
  conductor demo               run in a fresh temporary directory (removed afterwards)
  conductor demo --keep        keep the demo project to explore it with git
"""
)
@click.option("--keep", is_flag=True, help="Keep the demo project instead of deleting it.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Create the demo project here.")
def demo(keep: bool, directory: str | None) -> int:
    """Run Conductor end to end in a throwaway project, offline."""
    from conductor.commands import demo as command

    return finish(command.run(keep=keep, directory=directory), as_json=False)
