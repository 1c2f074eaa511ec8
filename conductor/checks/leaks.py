"""A change that adds a secret is refused, as GitHub's push protection refuses a push: the added
lines of the diff are searched for the values of the secrets Conductor knows (its environment,
`secrets.env`) and for credentials of precise formats (private keys, cloud and service tokens,
a URL's password), each named with its file and line. `file_rules.secrets_allowed` lets test
fixtures hold credential-shaped strings; a known secret's value is never allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pathspec

from conductor.checks.diff import Violation
from conductor.engine.failures import FailureKind
from conductor.secrets import find

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
MAX_PER_FILE = 5
MIN_KNOWN = 12  # a shorter secret value (a short password) is too likely to be in code by chance


def added_secrets(
    patch: bytes, *, known: Sequence[tuple[str, str]], allowed: Sequence[str] = ()
) -> list[Violation]:
    """The secrets the added lines of `patch` hold. `known`: (value, variable name)."""
    spec = pathspec.GitIgnoreSpec.from_lines(allowed) if allowed else None
    known = [(value, name) for value, name in known if len(value) >= MIN_KNOWN]
    found: list[Violation] = []
    path, line, count = "", 0, 0
    for raw in patch.decode("utf-8", "surrogateescape").splitlines():
        if raw.startswith("+++ "):
            path, count = raw[4:].removeprefix("b/"), 0
            continue
        hunk = HUNK.match(raw)
        if hunk:
            line = int(hunk.group(1))
            continue
        if raw.startswith("-") or raw.startswith("\\\\"):
            continue
        if not raw.startswith("+"):
            line += 1
            continue
        text = raw[1:]
        what = [f"the value of ${name}" for value, name in known if value in text]
        if spec is None or not spec.match_file(path):
            what += [kind for kind, _ in find(text)]
        if what and path != "/dev/null" and count < MAX_PER_FILE:
            count += 1
            detail = f"adds a secret ({', '.join(dict.fromkeys(what))}) at line {line}"
            found.append(Violation(FailureKind.CONSTRAINT, path, detail))
        line += 1
    return found
