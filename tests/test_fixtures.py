"""Every fixture plan is a valid plan."""

from __future__ import annotations

import pytest

from conductor.models.loader import validate
from conductor.models.plan import PlanSpec
from conductor.models.source import read_file
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "conductor" / "resources" / "fixtures" / "plans").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_fixture_plans_are_valid(path) -> None:
    plan = validate(read_file(path), PlanSpec)
    assert plan.goal and all(step.allowed_files for fork in plan.forks for step in fork.steps)
