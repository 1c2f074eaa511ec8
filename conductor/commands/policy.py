"""`conductor policy`: the effective policy, and where each value comes from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conductor.policy.effective import EffectivePolicy, shown
from conductor.policy.project import effective
from conductor.project import POLICY_FILE, find_root
from conductor.report import Report


@dataclass
class PolicyView(Report):
    root: Path
    policy: EffectivePolicy

    def to_json(self) -> dict[str, Any]:
        return {"root": str(self.root), **self.policy.to_json()}

    def render(self) -> str:
        return render(self.root, self.policy)


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
