"""Keeping secrets out of everything Conductor records.

Any environment variable whose name looks like a credential (…KEY, …TOKEN, …SECRET,
…PASSWORD, …CREDENTIALS) and whose value is long enough to be one is replaced by
`[redacted:$NAME]` in every text the ledger stores: event messages, task and result files,
evidence, recorded model exchanges.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)($|_)", re.IGNORECASE)
MIN_LENGTH = 8


class Redactor:
    def __init__(self, secrets: Mapping[str, str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._pairs = sorted(
            ((value, f"[redacted:${name}]") for name, value in secrets.items()),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )
        self._bytes = [(v.encode(), r.encode()) for v, r in self._pairs]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Redactor:
        source = os.environ if env is None else env
        return cls(
            {
                name: value
                for name, value in source.items()
                if _NAME.search(name) and len(value) >= MIN_LENGTH and not value.isdigit()
            }
        )

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def text(self, value: str) -> str:
        for secret, replacement in self._pairs:
            if secret in value:
                value = value.replace(secret, replacement)
        return value

    def data(self, value: bytes) -> bytes:
        for secret, replacement in self._bytes:
            if secret in value:
                value = value.replace(secret, replacement)
        return value
