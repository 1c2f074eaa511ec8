"""`conductor-guard`: refuse a commit whose staged changes touch protected files.

Run by the native pre-commit hook (conductor/resources/hooks/pre-commit) and by the pre-commit framework
(.pre-commit-hooks.yaml). Exit 0 when the commit may proceed, 1 when it is refused or the
policy is unreadable. A person may commit protected files with CONDUCTOR_OVERRIDE='reason'
(guard/override.py); `--commit-msg FILE` is the commit-msg hook that records the reason.
Kept to argparse, PyYAML and pathspec so it starts in milliseconds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from conductor.errors import ConductorError
from conductor.gitcli import OVERRIDE_VARIABLE
from conductor.gitdiff import Change
from conductor.guard.cache import PatternCache
from conductor.guard.staged import PolicyBlob, policy_versions, staged_changes
from conductor.policy.patterns import Pattern, ProtectedPatterns, Protection

EXAMPLES = """\
examples:
  conductor-guard                 check everything staged for the next commit
  conductor-guard poetry.lock     check only staged changes to poetry.lock
  CONDUCTOR_OVERRIDE='why' git commit   commit protected files anyway, the reason recorded
  conductor hooks install         run it before every commit (native git hook)
"""


def find_violations(files: Sequence[str] = ()) -> list[tuple[Change, Protection]]:
    """Staged changes that touch a protected path, with the protection they hit.

    With `files`, only changes to those paths are checked, plus every deletion and rename
    (the pre-commit framework passes only the paths that still exist).
    """
    protected = ProtectedPatterns(_layers(policy_versions()))
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


def _layers(blobs: list[PolicyBlob]) -> list[list[Pattern]]:
    """Protected patterns of each policy version, parsed once per content (see cache)."""
    cache = PatternCache.open()
    layers = []
    for blob in blobs:
        entry = cache.get(blob.oid)
        if entry is None:
            # Only a policy version not seen before pays for importing the YAML parser.
            from conductor.guard.rules import protected_patterns
            from conductor.models.source import parse

            entry = protected_patterns(parse(blob.text, path=blob.label))
            cache.put(blob.oid, entry)
        layers.append([Pattern(text, f"{blob.label}:{line}" if line else blob.label) for text, line in entry])
    cache.save()
    return layers


def listing(violations: list[tuple[Change, Protection]]) -> list[str]:
    """One line per offending change: what it does, and the pattern that protects it."""
    width = max(len(change.describe()) for change, _ in violations)
    lines = []
    for change, hit in violations:
        side = ""
        if change.old_path is not None and change.kind == "renamed":
            side = " (old path)" if hit.path == change.old_path else " (new path)"
        lines.append(f"  {change.describe():<{width}}  protected by '{hit.pattern}' ({hit.origin}){side}")
    return lines


def report(violations: list[tuple[Change, Protection]]) -> str:
    lines = ["conductor-guard: commit refused: staged changes touch protected files", *listing(violations)]
    lines.append(
        "Unstage them (git restore --staged PATH), or change the policy in a commit of its own."
        " To commit them anyway, say why (the commit message records it):"
        f" {OVERRIDE_VARIABLE}='reason' git commit ..."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--commit-msg"]:
        return _commit_msg(args[1:])
    # The common cases (the native hook: no arguments; pre-commit: file names) skip argparse.
    files = _parse(args) if any(a.startswith("-") for a in args) else args
    try:
        violations = find_violations(files)
        if violations and OVERRIDE_VARIABLE in os.environ:  # only then: nothing to pay otherwise
            from conductor.guard import override

            return override.let_through(listing(violations))
    except ConductorError as exc:
        print(f"conductor-guard: error: {exc.diagnostics()}", file=sys.stderr)
        return 1
    if violations:
        print(report(violations), file=sys.stderr)
        return 1
    return 0


def _commit_msg(args: list[str]) -> int:
    """`--commit-msg FILE` (the commit-msg hook): record an override's reason in FILE."""
    if len(args) != 1:
        print("conductor-guard: error: --commit-msg takes one file, the commit message", file=sys.stderr)
        return 2
    if OVERRIDE_VARIABLE not in os.environ:
        return 0
    try:
        from conductor.guard import override

        return override.record(args[0], protected=bool(find_violations()))
    except ConductorError as exc:
        print(f"conductor-guard: error: {exc.diagnostics()}", file=sys.stderr)
        return 1


def _parse(args: list[str]) -> list[str]:
    """Options present: the full parser, for --help and usage errors."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="conductor-guard",
        description="Refuse a commit whose staged changes touch files protected by "
        ".conductor/policy.yaml (file_rules.protected_patterns), committed or staged.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", help="limit the check to these staged paths")
    parser.add_argument(
        "--commit-msg",
        metavar="MSGFILE",
        help=f"the commit-msg hook: when {OVERRIDE_VARIABLE} let protected files through, write its reason"
        " into MSGFILE as a Conductor-Override trailer",
    )
    return list(parser.parse_args(args).files)


if __name__ == "__main__":
    raise SystemExit(main())
