"""The pre-push check: verify the provenance of every Conductor branch (and fork log) being pushed.

git runs the hook with the remote's name and URL as arguments and one line per pushed ref on
stdin: `<local ref> <local sha> <remote ref> <remote sha>`. Deleting a ref is not checked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from conductor.errors import ConductorError
from conductor.ledger import refs


def pushed_forks(lines: Iterable[str]) -> list[tuple[str, str]]:
    """The (plan, fork) pairs whose code branch or fork log a push updates, in order."""
    found: dict[tuple[str, str], None] = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or parts[1].strip("0") == "":
            continue
        local, _, remote, _ = parts
        for name in (local, remote):
            pair = refs.parse_branch(name)
            log = refs.parse(name)
            if pair is None and log is not None and log.kind == "fork" and log.plan and log.fork:
                pair = (log.plan, log.fork)
            if pair is not None:
                found.setdefault(pair)
                break
    return list(found)


def main(stdin: TextIO = sys.stdin, stderr: TextIO = sys.stderr) -> int:
    pairs = pushed_forks(stdin)
    if not pairs:
        return 0
    from conductor.commands.verify import render, verify

    failed = 0
    for plan, fork in pairs:
        try:
            result = verify(plan, fork=fork)
        except ConductorError as exc:
            print(f"conductor pre-push: {refs.short_branch(plan, fork)}: {exc.diagnostics()}", file=stderr)
            failed += 1
            continue
        if not result.ok:
            print(render(result), file=stderr)
            failed += 1
    if failed:
        print(
            f"conductor pre-push: {failed} branch(es) do not verify; push refused "
            "(details above; `conductor verify PLAN` to recheck; `git push --no-verify` to bypass)",
            file=stderr,
        )
        return 1
    print(f"conductor pre-push: provenance of {len(pairs)} fork(s) verified", file=stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
