"""The CLI's one error boundary: exit codes, crash logs, tracebacks only with --verbose."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conductor import boundary
from conductor.errors import ConductorError
from tests.conftest import PYTHON, conductor_bin, run_process


def run(func, *, verbose: bool = False) -> tuple[int, list[str]]:
    said: list[str] = []
    code = boundary.run(func, argv=["x"], verbose=lambda: verbose, echo=said.append)
    return code, said


def test_ok_and_error_and_usage_codes() -> None:
    assert run(lambda: 0)[0] == 0
    assert run(lambda: None)[0] == 0

    def fail() -> int:
        raise ConductorError("it broke", hint="fix it")

    code, said = run(fail)
    assert code == 1 and said == ["error: it broke\nhint: fix it"]


def test_bug_writes_a_crash_log_and_exits_3(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def bug() -> int:
        raise ZeroDivisionError("oops")

    code, said = run(bug)
    assert code == 3
    logs = list((tmp_path / "conductor").glob("crash-*.log"))
    assert len(logs) == 1
    assert str(logs[0]) in said[0] and "This is a bug" in said[0]
    assert "Traceback" not in said[0]
    assert "ZeroDivisionError: oops" in logs[0].read_text()
    code, said = run(bug, verbose=True)
    assert code == 3 and "Traceback" in said[0]


def test_interrupt_exits_130() -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run(interrupted) == (130, ["Interrupted."])


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
def test_real_process_exit_codes(tmp_path: Path) -> None:
    conductor = conductor_bin()
    assert run_process(conductor, "--help").code == 0
    assert run_process(conductor, "--version").out.strip() == "conductor, version 0.1.0"
    usage = run_process(conductor, "no-such-command")
    assert usage.code == 2 and "No such command" in usage.err
    bad_option = run_process(conductor, "events", "--limit", "-3", cwd=tmp_path)
    assert bad_option.code == 2
    error = run_process(conductor, "status", cwd=tmp_path)
    assert error.code == 1 and error.err.startswith("error: not a git repository")
    via_module = run_process(PYTHON, "-m", "conductor", "--help")
    assert via_module.code == 0 and "Conductor orchestrates" in via_module.out


def test_broken_pipe_is_not_an_error(project: Path) -> None:
    from tests.commands.test_status_events import record

    record(project)
    proc = subprocess.run(
        f"{conductor_bin()} events | head -1", shell=True, cwd=project, capture_output=True, text=True
    )
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr
