"""Verify commands: run in the worktree with a timeout; their exit codes and digested output
are the evidence that a step did what it claims."""

from __future__ import annotations

import hashlib
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conductor.sandbox.confinement import Confinement, kill_group, launch, stop
from conductor.sandbox.limits import hit

OUTPUT_KEEP = 32 * 1024


@dataclass(frozen=True)
class CommandEvidence:
    command: str
    exit_code: int | None  # None when it timed out
    seconds: float
    output_sha256: str
    output: str  # the last OUTPUT_KEEP bytes, as text
    limit: str = ""  # the resource limit it seems to have hit, in words

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "timed_out": self.exit_code is None,
            "seconds": round(self.seconds, 3),
            "output_sha256": self.output_sha256,
        }


def run_command(command: str, *, cwd: Path, timeout: float, confinement: Confinement) -> CommandEvidence:
    """Run a verify command in `cwd` under `confinement`; whatever it starts ends with it."""
    started = time.monotonic()
    with launch(confinement, command, env={"CONDUCTOR_VERIFY": "1"}) as prepared:
        proc = subprocess.Popen(
            prepared.argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **prepared.options(),
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            stop(proc, isolated=prepared.isolated)
            out, _ = proc.communicate()
            code = None
            out += f"\n[conductor: killed after {timeout:.0f}s timeout]\n".encode()
        finally:
            kill_group(proc.pid)
    if prepared.blocked:
        out += (
            f"\n[conductor: blocked connections (sandbox.network): {', '.join(prepared.blocked)}]\n".encode()
        )
    text = out[-OUTPUT_KEEP:].decode("utf-8", "replace")
    return CommandEvidence(
        command=command,
        exit_code=code,
        seconds=time.monotonic() - started,
        output_sha256="sha256:" + hashlib.sha256(out).hexdigest(),
        output=text,
        limit=hit(code, text, confinement.limits) or "",
    )
