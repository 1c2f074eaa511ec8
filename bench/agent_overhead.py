"""What an agent profile costs per step over the bare agent (issue 18): the same real CLI,
talking to the same local stand-in model (tests/agents/fakes), doing the same one-file edits.

Baseline: the agent's command line, as its profile writes it, run directly in a git checkout
(no Conductor, no sandbox), each run in a fresh home with the profile's files, as a step gets
one: the median of RUNS runs (the same with one warm home is printed too: what the agent
itself spends on a fresh home). Conductor: `conductor build --agent NAME`
on plans of SHORT and LONG one-file steps, each with one verify command, the sandbox on where
it runs; the time per step is the slope between the two (so the plan's fixed costs — its
record, the worktree's checkout — fall out), and the overhead is that minus the baseline's
run. It covers the sandbox, the private git directory and home, inspection, starting the
verify command, and the records and commit. Goal: at most 150 ms a step.

    python bench/agent_overhead.py                 codex (the fastest to start), if installed
    python bench/agent_overhead.py --agent aider   any of aider, claude, codex, gemini
    python bench/agent_overhead.py --quick         fewer steps and runs (2 and 4 steps, 3 runs)
    python bench/agent_overhead.py --steps 1 2 --runs 1 --warmup 0    the smallest (the tests)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fakes, in tests/agents/fakes
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BIN, ENV, git, workdir

from conductor.executors.agent import AgentExecutor
from conductor.executors.profiles import load
from tests.agents.fakes.anthropic import FakeAnthropic
from tests.agents.fakes.base import AgentModelServer, Turn
from tests.agents.fakes.gemini import FakeGeminiAPI
from tests.agents.fakes.openai_chat import FakeOpenAIChat
from tests.agents.fakes.openai_responses import FakeOpenAIResponses

AGENTS_BIN = Path(os.environ.get("CONDUCTOR_AGENTS_HOME", "/opt/conductor-agents")) / "bin"
SETUP: dict[str, tuple[type[AgentModelServer], str, str]] = {
    "aider": (FakeOpenAIChat, "openai/fake-model", "OPENAI_API_KEY"),
    "claude": (FakeAnthropic, "claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    "codex": (FakeOpenAIResponses, "gpt-5.5", "OPENAI_API_KEY"),
    "gemini": (FakeGeminiAPI, "gemini-2.5-pro", "GEMINI_API_KEY"),
}
GOAL_MS = 150.0


def turns(prefix: str, count: int) -> list[Turn]:
    """One turn per step: step_NNN writes file_NNN.txt (matched by the task's own words)."""
    return [
        Turn(match=[f"{prefix}{n:03d}"], files={f"file_{n:03d}.txt": f"value {n}\n"})
        for n in range(1, count + 1)
    ]


def baseline(name: str, runs: int, env: dict[str, str], fake_url: str, model: str, *, fresh: bool) -> float:
    """The bare agent: its profile's command line, run directly; the median seconds a run. With
    `fresh`, each run gets a new home with the profile's files, as Conductor gives it (the
    agent's first-run work in it is the agent's, not Conductor's); else one home for all."""
    executor = AgentExecutor(load(None)[name], model=model, base_url=fake_url)
    repo = workdir("agent-bare")
    git(repo, "init", "-q")
    (repo / "README.md").write_text("bench\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "start")
    samples = []
    home = repo.parent / f"{repo.name}-home"
    for n in range(1, runs + 1):
        if fresh or n == 1:
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            for relative, content in executor.profile.spec.home.items():
                (home / relative).parent.mkdir(parents=True, exist_ok=True)
                (home / relative).write_text(
                    content.replace("{workspace}", str(repo)).replace("{model}", model)
                )
        prompt = home / "prompt.md"
        prompt.write_text(f"Task bare_{n:03d} (attempt 1): write file_{n:03d}.txt\n")
        run_env = {**executor.environment(env), "HOME": str(home), "CONDUCTOR_PROMPT_FILE": str(prompt)}
        run_env["CONDUCTOR_WORKSPACE"] = str(repo)
        started = time.perf_counter()
        subprocess.run(
            ["/bin/sh", "-c", executor.command],
            cwd=repo,
            env=run_env,
            input=prompt.read_bytes(),
            capture_output=True,
            check=False,
            timeout=300,
        )
        samples.append(time.perf_counter() - started)
        if not (repo / f"file_{n:03d}.txt").exists():
            raise SystemExit(f"the bare {name} run {n} did not write its file: is the fake answering it?")
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    return statistics.median(samples)


def through_conductor(name: str, steps: int, env: dict[str, str], fake_url: str, model: str) -> float:
    """Seconds for `conductor build --agent NAME` on a plan of `steps` one-file steps."""
    root = workdir("agent-build")
    subprocess.run(
        [str(BIN / "conductor"), "init", "proj"], cwd=root, env=env, capture_output=True, check=True
    )
    project = root / "proj"
    lines = ["goal: bench", "steps:"]
    for n in range(1, steps + 1):
        lines += [
            f"  - title: step {n}",
            f"    instruction: write file_{n:03d}.txt",
            f"    allowed_files: [file_{n:03d}.txt]",
            "    verify: ['true']",
        ]
    (project / "plan.yaml").write_text("\n".join(lines) + "\n")
    git(project, "add", "plan.yaml")
    git(project, "commit", "-qm", "plan")
    command = [str(BIN / "conductor"), "build", "--plan", "plan.yaml", "--agent", name, "--yes"]
    command += ["--model", model, "--base-url", fake_url]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"conductor build --agent {name} failed:\n{done.stdout}{done.stderr}")
    shutil.rmtree(root, ignore_errors=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agent", default="codex", choices=sorted(SETUP))
    parser.add_argument("--quick", action="store_true", help="fewer steps and runs")
    parser.add_argument(
        "--steps",
        type=int,
        nargs=2,
        metavar=("SHORT", "LONG"),
        help="steps of the two plans built (default 3 and 9; --quick: 2 and 4)",
    )
    parser.add_argument("--runs", type=int, help="bare agent runs, each way (default 7; --quick: 3)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed builds first, to warm the caches (default 1)"
    )
    args = parser.parse_args()
    short, long, runs = (2, 4, 3) if args.quick else (3, 9, 7)
    short, long = args.steps or (short, long)
    runs = args.runs or runs
    if not 1 <= short < long or runs < 1 or args.warmup < 0:
        parser.error(
            "--steps takes two step counts, the second larger, from 1; --runs 1 or more; --warmup 0 or more"
        )
    name = args.agent
    if not (AGENTS_BIN / name).exists():
        print(f"{name} is not installed in {AGENTS_BIN}: run .ci/install-agents {name}", file=sys.stderr)
        return 2
    fake_class, model, key = SETUP[name]
    env = {**ENV, "PATH": f"{AGENTS_BIN}{os.pathsep}{BIN}{os.pathsep}{ENV.get('PATH', '')}", key: "sk-bench"}
    builds = [*turns("step_", short) * (args.warmup + 1), *turns("step_", long)]
    script = turns("bare_", runs) + turns("bare_", runs) + builds
    with fake_class(script) as fake:  # type: ignore[call-arg]
        warm = baseline(name, runs, env, fake.url, model, fresh=False)
        bare = baseline(name, runs, env, fake.url, model, fresh=True)
        for _ in range(args.warmup):
            through_conductor(name, short, env, fake.url, model)  # warm caches (git, the CLI's own)
        short_time = through_conductor(name, short, env, fake.url, model)
        long_time = through_conductor(name, long, env, fake.url, model)
    per_step = (long_time - short_time) / (long - short)
    overhead = per_step - bare
    verdict = "ok" if overhead * 1000 <= GOAL_MS else "OVER GOAL"
    print(f"Agent profile overhead: {name} ({model}) against a local stand-in model")
    print(f"  bare agent run:         {bare * 1000:8.0f} ms (median of {runs}; a fresh home each, as steps)")
    print(f"  (with one warm home:    {warm * 1000:8.0f} ms)")
    print(f"  a step through Conductor: {per_step * 1000:6.0f} ms (slope between {short} and {long} steps)")
    print(f"  overhead per step:      {overhead * 1000:8.0f} ms (goal <= {GOAL_MS:.0f} ms: {verdict})")
    print(f"  ratio:                  {per_step / bare:8.2f}x the bare run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
