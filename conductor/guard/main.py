"""`conductor-guard`: refuse a commit whose staged changes touch protected files.

Run by the native pre-commit hook (hooks/pre-commit) and by the pre-commit framework
(.pre-commit-hooks.yaml). Exit 0 when the commit may proceed, 1 when it is refused or the
policy is unreadable. Kept to argparse, PyYAML and pathspec so it starts in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conductor.errors import ConductorError
from conductor.guard.rules import protected_patterns
from conductor.guard.staged import Change, policy_versions, staged_changes
from conductor.models.source import parse
from conductor.policy.patterns import ProtectedPatterns, Protection

EXAMPLES = """\
examples:
  conductor-guard                 check everything staged for the next commit
  conductor-guard poetry.lock     check only staged changes to poetry.lock
  conductor hooks install         run it before every commit (native git hook)
"""


def find_violations(files: Sequence[str] = ()) -> list[tuple[Change, Protection]]:
    """Staged changes that touch a protected path, with the protection they hit.

    With `files`, only changes to those paths are checked, plus every deletion and rename
    (the pre-commit framework passes only the paths that still exist).
    """
    layers = [protected_patterns(parse(blob.text, path=blob.label)) for blob in policy_versions()]
    protected = ProtectedPatterns(layers)
    if not protected:
        return []
    wanted = set(files)
    found = []
    for change in staged_changes():
        if wanted and change.kind not in ("deleted", "renamed") and change.path not in wanted:
            continue
        for path in change.paths():
            hit = protected.check(path)
            if hit is not None:
                found.append((change, hit))
                break
    return found


def report(violations: list[tuple[Change, Protection]]) -> str:
    width = max(len(_describe(change)) for change, _ in violations)
    lines = ["conductor-guard: commit refused: staged changes touch protected files"]
    for change, hit in violations:
        side = ""
        if change.old_path is not None and change.kind == "renamed":
            side = " (old path)" if hit.path == change.old_path else " (new path)"
        lines.append(
            f"  {_describe(change):<{width}}  protected by '{hit.pattern}' ({hit.origin}){side}"
        )
    lines.append(
        "Unstage them (git restore --staged PATH), or change the policy in a commit of its own."
        " To bypass the hook once: git commit --no-verify"
    )
    return "\n".join(lines)


def _describe(change: Change) -> str:
    if change.old_path is not None:
        return f"{change.kind} {change.old_path} -> {change.path}"
    return f"{change.kind} {change.path}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="conductor-guard",
        description="Refuse a commit whose staged changes touch files protected by "
        ".conductor/policy.yaml (file_rules.protected_patterns), committed or staged.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", help="limit the check to these staged paths")
    args = parser.parse_args(argv)
    try:
        violations = find_violations(args.files)
    except ConductorError as exc:
        print(f"conductor-guard: error: {exc.diagnostics()}", file=sys.stderr)
        return 1
    if violations:
        print(report(violations), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
