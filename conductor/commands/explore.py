"""`conductor explore "<goal>"`: several strategies in parallel, one fork branch each, compared
and one recommended. The work is runner/plan/explore.py's: the demo runs it too."""

from __future__ import annotations

from conductor.runner.plan.explore import explore as run

__all__ = ["run"]
