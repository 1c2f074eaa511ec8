"""`conductor-guard`: refuse a commit whose staged changes touch protected files.

Run by the native pre-commit hook (conductor/resources/hooks/pre-commit) and by the pre-commit framework
(.pre-commit-hooks.yaml). Exit 0 when the commit may proceed, 1 when it is refused or the
policy is unreadable. A person may commit protected files with CONDUCTOR_OVERRIDE='reason'
(guard/override.py); `--commit-msg FILE` is the commit-msg hook that records the reason.
Starts in milliseconds: on a commit that touches nothing protected, with the policy parsed
before (guard/cache.py), it imports no YAML parser, no pathspec, not even re, json or
subprocess; the native hook starts Python without site processing (`-I -S`), passing where
the package is (bench/guard_commit.py measures it).
"""

from __future__ import annotations

import os
import sys

from conductor.errors import ConductorError
from conductor.guard.staged import OVERRIDE_VARIABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Sequence

    from conductor.gitdiff import Change
    from conductor.guard.cache import Entry
    from conductor.guard.staged import PolicyBlob
    from conductor.policy.patterns import Protection

# pathspec normalizes these separators to '/' (util.NORMALIZE_PATH_SEPS); none on POSIX.
OTHER_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep and sep != "/")

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

    Fast on the common commit: with the policy's parsed form cached, a path is first looked
    up in the regular expressions pathspec compiled its patterns to; only a change that one
    of them finds is decided by pathspec (ProtectedPatterns), and only then are pathspec and
    the Change objects imported at all.
    """
    from conductor.guard.staged import Reading, records

    reading = Reading()
    layers = _layers(reading.policy_versions())
    if not any(entry.patterns for _, entry in layers):
        reading.finish()
        return []
    searches = _compiled(layers)
    wanted = set(files)
    raw = reading.raw()
    candidates = []
    for index, (code, path, old_path) in enumerate(records(raw)):
        if wanted and code not in ("D", "R") and path not in wanted:
            continue
        if _may_be_protected(path, searches) or (
            code == "R" and old_path is not None and _may_be_protected(old_path, searches)
        ):
            candidates.append(index)
    if not candidates:
        return []
    _site_packages()
    from conductor.gitdiff import parse_raw
    from conductor.policy.patterns import Pattern, ProtectedPatterns

    protected = ProtectedPatterns(
        [Pattern(text, f"{label}:{line}" if line else label) for text, line in entry.patterns]
        for label, entry in layers
    )
    changes = parse_raw(raw)
    found = []
    for index in candidates:
        change = changes[index]
        for path in change.paths():
            hit = protected.check(path)
            if hit is not None:
                found.append((change, hit))
                break
    return found


def _layers(blobs: list[PolicyBlob]) -> list[tuple[str, Entry]]:
    """Protected patterns of each policy version, parsed once per content (see cache)."""
    from conductor.guard.cache import Entry, PatternCache

    cache = PatternCache.open()
    layers = []
    for blob in blobs:
        entry = cache.get(blob.oid)
        if entry is None:
            # Only a policy version not seen before pays for the YAML parser and pathspec.
            _site_packages()
            from conductor.guard.cache import Search
            from conductor.guard.rules import protected_patterns, searches
            from conductor.models.source import parse

            patterns = protected_patterns(parse(blob.text, path=blob.label))
            entry = Entry(patterns, [Search.of(*s) for s in searches([text for text, _ in patterns])])
            cache.put(blob.oid, entry)
        layers.append((blob.label, entry))
    cache.save()
    return layers


def _compiled(layers: list[tuple[str, Entry]]) -> list[re.Pattern[str]] | None:
    """Every layer's protecting expressions, compiled (guard/cache.py: without importing re
    when it can); None when one does not compile here (then pathspec decides every path)."""
    try:
        return [search.compiled() for _, entry in layers for search in entry.searches]
    except Exception:  # re.error and the like: let pathspec decide (and say what is wrong)
        return None


def _may_be_protected(path: str, searches: list[re.Pattern[str]] | None) -> bool:
    """False only when no protecting pattern can match `path`: none of their expressions finds
    it (pathspec's result can then only be 'not included'). A path pathspec would normalize
    first (a leading '/' or './', another separator) is left to pathspec."""
    if searches is None or path[:1] == "/" or path[:2] == "./":
        return True
    if OTHER_SEPARATORS and any(sep in path for sep in OTHER_SEPARATORS):
        return True
    return any(search.search(path) for search in searches)


def _site_packages() -> None:
    """Make installed packages (PyYAML, pathspec) importable when the native hook started
    Python without site processing (`python -I -S`, conductor/resources/hooks/pre-commit)."""
    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()


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
