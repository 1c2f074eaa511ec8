"""`conductor policy` (the effective policy and where each value comes from) and
`conductor policy check` (validate a policy file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conductor.policy.effective import EffectivePolicy, flatten
from conductor.policy.project import effective, load_layer
from conductor.project import POLICY_FILE, find_root


def show() -> tuple[Path, EffectivePolicy]:
    root = find_root()
    return root, effective(root)


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
            shown = "null" if entry["value"] is None else str(entry["value"])
            lines.append(f"{key + ':':<{width + 1}} {shown:<8}  # {entry['origin']}")
    return "\n".join(lines)


def check(file: str | None) -> dict[str, Any]:
    """Validate `file` (default: the project's policy file); raises ConfigError when invalid."""
    if file is None:
        root = find_root()
        path, display = root / POLICY_FILE, POLICY_FILE
    else:
        path, display = Path(file), file
    layer = load_layer(path, display=display)
    return {"file": display, "valid": True, "sets": sorted(flatten(layer.policy))}
