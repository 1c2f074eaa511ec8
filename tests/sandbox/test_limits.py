"""The limits reach the process whether prlimit sets them or the child does (no prlimit)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conductor.sandbox import limits as limits_module
from conductor.sandbox.limits import Limits

LIMITS = Limits(file_size=1 << 20, cpu_seconds=30)
SHOW = [
    sys.executable,
    "-c",
    "import resource as r; print(*r.getrlimit(r.RLIMIT_FSIZE), *r.getrlimit(r.RLIMIT_CPU))",
]


def run(argv: list[str], preexec: object) -> list[str]:
    out = subprocess.run(argv, capture_output=True, text=True, check=True, preexec_fn=preexec)  # type: ignore[arg-type]
    return out.stdout.split()


@pytest.mark.parametrize("prlimit", [True, False], ids=["prlimit", "preexec"])
def test_each_limit_is_set_soft_and_hard(prlimit: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if prlimit and limits_module._prlimit() is None:
        pytest.skip("no prlimit on this machine")
    if not prlimit:
        monkeypatch.setattr(limits_module, "_prlimit", lambda: None)
    argv, preexec = LIMITS.wrap(SHOW)
    assert (argv[0].endswith("prlimit"), preexec is None) == (prlimit, prlimit)
    # CPU: SIGXCPU at the soft limit, SIGKILL a second later
    assert run(argv, preexec) == [str(1 << 20), str(1 << 20), "30", "31"]


def test_no_limits_leave_the_command_as_it_is() -> None:
    assert Limits().wrap(SHOW) == (SHOW, None)
