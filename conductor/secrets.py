"""Keeping secrets out of everything Conductor records (docs/security.md).

A value from Conductor's environment is a secret when its variable's name says so (…KEY,
…TOKEN, …SECRET, …PASSWORD, …CREDENTIALS), when the value itself has the format of a
credential (GitHub, GitLab, AWS, Slack, Stripe, OpenAI, npm, PyPI… tokens, private keys, JWTs,
a password inside a URL — recognized by detect-secrets' format detectors, plus the few formats
it lacks), or when the policy names the variable (`secrets.env`). Every such value, and the
password of a URL, is replaced by `[redacted:$NAME]` in every text the ledger stores: event
messages, task and result files, evidence, commit messages, recorded model exchanges.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)($|_)", re.IGNORECASE)
MIN_LENGTH = 8

# Formats detect-secrets has no detector for.
_MORE_FORMATS = (
    re.compile(r"AIza[0-9A-Za-z_-]{35}"),  # Google API keys
    re.compile(r"github_pat_[0-9A-Za-z_]{22,}"),  # GitHub fine-grained tokens
    re.compile(r"(?<![0-9A-Za-z])sk-(?:proj-|ant-)?[0-9A-Za-z_-]{20,}"),  # OpenAI, Anthropic keys
)
# Detectors that flag by entropy or by wording, or flag what is no secret (a public IP).
_NOT_A_FORMAT = {
    "Base64 High Entropy String",
    "Hex High Entropy String",
    "Secret Keyword",
    "Public IP (ipv4)",
}

_declared: set[str] = set()
_lock = threading.Lock()


def declare(names: Iterable[str]) -> None:
    """Variables the policy names as secrets (`secrets.env`): redacted from now on."""
    with _lock:
        _declared.update(names)


def declared() -> frozenset[str]:
    with _lock:
        return frozenset(_declared)


@functools.cache
def _detectors() -> tuple[Any, ...]:
    """detect-secrets' format detectors (imported only when a Redactor is made)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    plugins: dict[str, Any] = get_mapping_from_secret_type_to_class()
    return tuple(plugin() for kind, plugin in sorted(plugins.items()) if kind not in _NOT_A_FORMAT)


def credential_parts(value: str) -> list[str]:
    """The parts of `value` to redact when it has a credential's format: the value itself and
    what the formats single out of it (a URL's password); empty when it is no credential."""
    found = [match for detector in _detectors() for match in detector.analyze_string(value)]
    found += [match.group(0) for pattern in _MORE_FORMATS for match in pattern.finditer(value)]
    if not found:
        return []
    return [value, *sorted({part for part in found if len(part) >= MIN_LENGTH and part != value})]


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
    def from_env(cls, env: Mapping[str, str] | None = None, *, names: Iterable[str] = ()) -> Redactor:
        source = os.environ if env is None else env
        listed = declared() | set(names)
        secrets: dict[str, str] = {}
        for name, value in source.items():
            if len(value) < MIN_LENGTH or value.isdigit():
                continue
            if name in listed or _NAME.search(name):
                secrets[name] = value
                continue
            for index, part in enumerate(credential_parts(value)):
                secrets[name if index == 0 else f"{name}#{index}"] = part
        return cls(secrets)

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
