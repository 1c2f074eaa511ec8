"""Queue tasks are authenticated: whoever can push to the queue remote cannot make a worker run
an instruction. The coordinator signs each task it queues with a key it shares with its workers
(`CONDUCTOR_QUEUE_KEY`: HMAC-SHA256 over the task's slot and bytes, so a signed task cannot be
replayed in another slot); a worker claims only tasks its key verifies, and says why it skips
the others. The key is a secret: never passed to an agent, redacted from every record.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from conductor.errors import ConductorError

KEY_VARIABLE = "CONDUCTOR_QUEUE_KEY"
MIN_KEY = 16
SIGNATURE_FILE = "signature"
HINT = (
    f"set {KEY_VARIABLE} to the same secret on the machine that runs the plan and on its workers,"
    f" e.g. export {KEY_VARIABLE}=$(openssl rand -hex 32) (docs/workers.md)"
)


def queue_key(environ: Mapping[str, str] | None = None) -> bytes:
    """The shared key, or an error that says how to set one."""
    value = (os.environ if environ is None else environ).get(KEY_VARIABLE, "")
    if len(value) < MIN_KEY:
        what = "is not set" if not value else f"is shorter than {MIN_KEY} characters"
        raise ConductorError(f"{KEY_VARIABLE} {what}: queue tasks are signed with it", hint=HINT)
    return value.encode()


def sign(key: bytes, slot: str, task: bytes) -> str:
    return hmac.new(key, slot.encode() + b"\n" + task, hashlib.sha256).hexdigest()


def verify(key: bytes, slot: str, task: bytes, signature: bytes | None) -> bool:
    if signature is None:
        return False
    return hmac.compare_digest(sign(key, slot, task).encode(), signature.strip())
