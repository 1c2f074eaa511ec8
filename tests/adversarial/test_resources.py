"""Resource limits (issue 19, point 8): an agent that allocates, writes or computes without end
hits the policy's `limits` — in the sandbox and without it — and its step fails with that reason;
the defaults let real agents run (tests/agents run under them)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import PYTHON, SANDBOX_MODES
from tests.scenario import Project

ONE_FILE = {"title": "Write notes", "instruction": "Write notes.md", "allowed_files": ["notes.md"]}


def attempt(proj: Project, run_cli, limits: str, body: str) -> dict[str, object]:
    """Build one step whose agent runs `body` (shell, its last command decides the exit code)
    under `limits`; its verdict."""
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + f"\nlimits: {limits}\n")
    script = proj.scripts / "greedy.sh"
    script.write_text("#!/bin/sh\nprintf '# notes\\n' > notes.md\n" + body)
    script.chmod(0o755)
    step = {**ONE_FILE, "allowed_files": ["notes.md", "big.bin"]}
    plan = proj.plan([step], policy={"behavior": {"max_attempts": 1}})
    result = run_cli("build", "--plan", plan, "--exec", str(script), "--yes")
    assert result.code == 1, result.out + result.err
    return dict(json.loads(proj.record("evidence/step_001/attempt_1/verdict.json")))


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_an_agent_that_allocates_too_much_runs_out_of_memory(proj: Project, run_cli, sandbox: str) -> None:
    proj.sandbox(sandbox)
    verdict = attempt(proj, run_cli, "{memory: 256M}", f"{PYTHON} -c 'b = bytearray(1 << 30)'\n")
    assert "it ran out of memory: limits.memory is 256 MiB (an rlimit)" in str(verdict["reason"]), verdict


@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_an_agent_cannot_write_a_file_over_the_limit(proj: Project, run_cli, sandbox: str) -> None:
    proj.sandbox(sandbox)
    verdict = attempt(proj, run_cli, "{file_size: 1M}", "head -c 10000000 /dev/zero > big.bin\n")
    assert "it hit limits.file_size (files up to 1 MiB, an rlimit)" in str(verdict["reason"]), verdict


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_an_agent_that_computes_without_end_is_stopped_by_its_cpu_time(proj: Project, run_cli) -> None:
    verdict = attempt(proj, run_cli, "{cpu_seconds: 1}", f"{PYTHON} -c 'while True: pass'\n")
    assert "it hit limits.cpu_seconds (1 s of CPU, an rlimit)" in str(verdict["reason"]), verdict


def test_limits_are_policy_values_with_sizes(proj: Project, run_cli) -> None:
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nlimits: {memory: lots}\n")
    checked = run_cli("policy", "check")
    assert checked.code == 1 and "limits.memory" in checked.err and "'lots' is not a size" in checked.err
    policy.write_text(policy.read_text().replace("{memory: lots}", "{memory: 2G, processes: 512}"))
    shown = json.loads(run_cli("policy", "--json").out)["values"]
    assert shown["limits.memory"]["value"] == "2G" and shown["limits.processes"]["value"] == 512
    assert shown["limits.file_size"] == {"value": "4G", "origin": "default"}
    assert os.getuid() >= 0  # (processes are counted per user; root is exempt: docs/security.md)
