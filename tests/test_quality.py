"""The code stays lint-clean, formatted and type-checked (mypy --strict on the package)."""

from __future__ import annotations

import pytest

from tests.conftest import PYTHON, ROOT, run_process


def test_ruff_lint_and_format() -> None:
    lint = run_process(PYTHON, "-m", "ruff", "check", "conductor", "tests", "bench", cwd=ROOT)
    assert lint.code == 0, lint.out + lint.err
    fmt = run_process(PYTHON, "-m", "ruff", "format", "--check", "conductor", "tests", "bench", cwd=ROOT)
    assert fmt.code == 0, fmt.out + fmt.err


@pytest.mark.slow
def test_mypy_strict() -> None:
    result = run_process(PYTHON, "-m", "mypy", cwd=ROOT, timeout=300)
    assert result.code == 0, result.out + result.err
