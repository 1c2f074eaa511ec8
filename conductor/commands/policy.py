"""`conductor policy`: the effective policy, and where each value comes from — and which
variables of your environment the step's commands get (sandbox.env), and why."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conductor.policy.effective import EffectivePolicy, shown
from conductor.policy.project import effective
from conductor.project import POLICY_FILE, find_root
from conductor.report import Report
from conductor.sandbox.environment import Allowlist, Decision


@dataclass
class PolicyView(Report):
    root: Path
    policy: EffectivePolicy

    def decisions(self) -> list[Decision]:
        return Allowlist(named=self.policy.sandbox_env).explain(os.environ)

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            **self.policy.to_json(),
            "environment": [d.to_json() for d in self.decisions()],
        }

    def render(self) -> str:
        lines = [render(self.root, self.policy), "", "Your environment, as the step's commands get it:"]
        decisions = self.decisions()
        passed = [d for d in decisions if d.passed]
        withheld = [d for d in decisions if not d.passed and not d.why.startswith("not named")]
        lines.append("  passed: " + (", ".join(f"{d.name} ({d.why})" for d in passed) or "nothing"))
        lines += [f"  withheld: {d.name}: {d.why}" for d in withheld]
        rest = len(decisions) - len(passed) - len(withheld)
        if rest:
            lines.append(f"  and {rest} more not named in sandbox.env (an agent profile passes its own too)")
        return "\n".join(lines)


def run() -> PolicyView:
    root = find_root()
    return PolicyView(root, effective(root))


def render(root: Path, policy: EffectivePolicy) -> str:
    values = policy.to_json()["values"]
    source = POLICY_FILE if (root / POLICY_FILE).exists() else "no policy file: defaults only"
    width = max(len(k) for k in values)
    lines = [f"Effective policy for {root} ({source})", ""]
    for key, entry in values.items():
        if isinstance(entry, list):
            lines.append(f"{key}:" + ("" if entry else " []"))
            item_width = max((len(repr(i["value"])) for i in entry), default=0)
            for item in entry:
                lines.append(f"  - {item['value']!r:<{item_width}}  # {item['origin']}")
        else:
            lines.append(f"{key + ':':<{width + 1}} {shown(entry['value']):<8}  # {entry['origin']}")
    return "\n".join(lines)
