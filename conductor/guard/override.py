"""A person's way past the guard: `CONDUCTOR_OVERRIDE="reason" git commit ...`.

The pre-commit guard lets protected changes through when the variable holds a reason, naming
them; the commit-msg hook writes the reason into the message as a `Conductor-Override`
trailer, so the history shows what was let through and why. Conductor never hands the
variable on (gitcli.OVERRIDE_VARIABLE): agents, verify commands and its own commits never
have one. Imported only when the variable is set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import OVERRIDE_VARIABLE, git, git_text

TRAILER = "Conductor-Override"
USAGE = f"{OVERRIDE_VARIABLE}='reason' git commit ..."
RECORDER_ID = "conductor-guard-override"  # the commit-msg hook's id in .pre-commit-hooks.yaml


def reason() -> str:
    """The reason given, on one line ('' when it is empty or blank)."""
    return " ".join(os.environ.get(OVERRIDE_VARIABLE, "").split())


def let_through(listing: Sequence[str]) -> int:
    """The pre-commit side, with protected changes staged: 0 to let them through (saying so),
    1 to refuse (no reason, or nothing installed that would record it)."""
    why = reason()
    if not why:
        return _refuse(f"{OVERRIDE_VARIABLE} is empty: say why these protected files must change", listing)
    missing = _missing_recorder()
    if missing:
        return _refuse(
            f"{OVERRIDE_VARIABLE} is set, but the reason would not be recorded: {missing}", listing
        )
    lines = [f"conductor-guard: {OVERRIDE_VARIABLE}: committing protected files, because: {why}", *listing]
    lines.append(f"The commit message records it as '{TRAILER}: {why}'.")
    print("\n".join(lines), file=sys.stderr)
    return 0


def record(message_file: str, protected: bool) -> int:
    """The commit-msg side: add the trailer when protected changes are being committed."""
    if not protected:
        return 0  # nothing was let through: an override left set in the shell adds nothing
    why = reason()
    if not why:
        print(
            f"conductor-guard: commit refused: {OVERRIDE_VARIABLE} is empty: say why ({USAGE})",
            file=sys.stderr,
        )
        return 1
    args = ["interpret-trailers", "--in-place", "--if-exists", "addIfDifferent"]
    git([*args, "--trailer", f"{TRAILER}: {why}", message_file])
    return 0


def _refuse(problem: str, listing: Sequence[str]) -> int:
    print(f"conductor-guard: commit refused: {problem}", *listing, sep="\n", file=sys.stderr)
    print(f"Give the reason, and have the commit-msg hook installed: {USAGE}", file=sys.stderr)
    return 1


def _missing_recorder() -> str | None:
    """Why no commit-msg hook would record the reason, or None: ours (or one that runs the
    guard), or the pre-commit framework's with the recorder in .pre-commit-config.yaml."""
    try:
        hooks = Path(
            git_text(["rev-parse", "--path-format=absolute", "--git-path", "hooks"], as_configured=True)
        )
        text = (hooks / "commit-msg").read_text(encoding="utf-8", errors="replace")
    except (ConductorError, OSError):
        return "no commit-msg hook is installed; run `conductor hooks install`"
    if "conductor" in text:
        return None
    if "pre-commit" in text:
        try:
            if RECORDER_ID in Path(".pre-commit-config.yaml").read_text(encoding="utf-8", errors="replace"):
                return None
        except OSError:
            pass
        return f"add the hook id {RECORDER_ID} to .pre-commit-config.yaml"
    return "the commit-msg hook is not Conductor's; run `conductor hooks install --force`"
