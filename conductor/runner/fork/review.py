"""Changes that could fake the evidence (issue 19, point 10): a step that changes test
configuration, a CI definition or git's own attributes waits for a person, naming the paths
(`file_rules.review_patterns`); and the verify commands run with the files `verify.pinned`
names as they are at the plan's base, so a rewritten test cannot make broken code pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pathspec

from conductor.ledger.tree import Entry
from conductor.models.event import EventType
from conductor.policy.effective import EffectivePolicy
from conductor.runner.fork.inspection import Observed

if TYPE_CHECKING:
    from conductor.runner.fork.context import Fork


def _spec(patterns: list[str]) -> pathspec.GitIgnoreSpec | None:
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


def review_paths(observed: Observed, policy: EffectivePolicy) -> list[str]:
    """The paths of the change that match `file_rules.review_patterns`."""
    spec = _spec(policy.items("file_rules.review_patterns"))
    return [path for path in observed.paths if spec is not None and spec.match_file(path)]


def request_review(fork: Fork, step: str, attempt: int, paths: list[str]) -> None:
    """Halt the step for a person: its change is kept in the worktree, verified; `conductor
    approve` accepts it as it is, `conductor reject` fails it."""
    named = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
    reason = (
        f"{step} needs a person: its change touches {named} (file_rules.review_patterns), which could"
        " change what the evidence proves"
    )
    where = f"--plan {fork.plan.id} --fork {fork.id}"
    hint = f"look at it (conductor diff {fork.plan.id}/{fork.id}), then conductor approve {step} {where}"
    fork.record(
        EventType.APPROVAL_REQUESTED,
        reason,
        step=step,
        attempt=attempt,
        data={"review": paths, "reason": reason, "hint": hint},
    )
    fork.say(f"{reason}; {hint}")


def pin(fork: Fork, observed: Observed, policy: EffectivePolicy) -> list[str]:
    """Put the files `verify.pinned` names back as they are at the plan's base, where the fork
    changed them (new files stay as written); the paths put back, for `settle` to undo."""
    spec = _spec(policy.items("verify.pinned"))
    if spec is None:
        return []
    ledger, base = fork.ledger, fork.plan.base
    changed = ledger.changed_paths(ledger.tree_of(base), observed.tree)
    wanted: dict[str, Entry | None] = {}
    for path in changed:
        if not spec.match_file(path):
            continue
        kind, entry = ledger.entry(base, path)
        if kind == "blob" and entry is not None:
            wanted[path] = entry
    fork.worktree.restore(wanted)
    return sorted(wanted)
