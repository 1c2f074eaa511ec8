"""Failpoints: named places where Conductor can be made to die, to test crash recovery.

`CONDUCTOR_FAILPOINTS="after:task.claimed,before:task.completed#2"` makes the process kill
itself with SIGKILL at those points (`#2`: the second time it gets there). Unset (always, in
normal use) each check is one set lookup.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("CONDUCTOR_FAILPOINTS", "")
_ARMED: dict[str, int] = {}
for _item in filter(None, (part.strip() for part in _SPEC.split(","))):
    _name, _, _count = _item.partition("#")
    _ARMED[_name] = int(_count) if _count.isdigit() else 1


def hit(name: str) -> None:
    """Die here if this failpoint is armed and its count is reached."""
    if name not in _ARMED:
        return
    _ARMED[name] -= 1
    if _ARMED[name] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
