"""Where a plan made by `conductor fork --from` starts: the plan, fork and step it came from and
that step's commit (its base), as `plan.json` records it (`origin`). The commits before the
new plan's first step are that plan's; `conductor verify` checks them against its records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SOURCE_PREFIX = "fork:"  # plan.json's `source` of such a plan: `fork:PLAN/FORK@STEP`


@dataclass(frozen=True)
class Origin:
    plan: str
    fork: str
    step: str | None  # step_NNN; "base": the plan's base; None: a branch tip that is no accepted step
    commit: str  # the code there: the new plan's base

    @property
    def label(self) -> str:
        """`PLAN/FORK@STEP`, as users write a point."""
        return f"{self.plan}/{self.fork}" + (f"@{self.step}" if self.step else "")

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "fork": self.fork, "step": self.step, "commit": self.commit}

    @classmethod
    def from_json(cls, data: Any) -> Origin | None:
        """The recorded origin, or None when there is none (or it is not one)."""
        if not isinstance(data, dict):
            return None
        plan, fork, step, commit = (data.get(k) for k in ("plan", "fork", "step", "commit"))
        if not (isinstance(plan, str) and isinstance(fork, str) and isinstance(commit, str)):
            return None
        return cls(plan, fork, step if isinstance(step, str) else None, commit)

    @classmethod
    def of_plan(cls, data: dict[str, Any]) -> Origin | None:
        """A plan's origin from its plan.json: `origin`, or, for a plan made before it was
        recorded, read from `source: fork:PLAN/FORK@STEP` (the commit is the plan's base)."""
        recorded = cls.from_json(data.get("origin"))
        if recorded is not None:
            return recorded
        source, base = data.get("source"), data.get("base")
        if not (isinstance(source, str) and source.startswith(SOURCE_PREFIX) and isinstance(base, str)):
            return None
        where, _, step = source.removeprefix(SOURCE_PREFIX).partition("@")
        plan, _, fork = where.partition("/")
        if not (plan and fork):
            return None
        return cls(plan, fork, step or None, base)
