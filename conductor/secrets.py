"""Keeping secrets out of everything Conductor records (docs/security.md).

Every text it stores is also cleaned of what has a credential's format wherever it came from
(an agent that printed `~/.ssh/id_ed25519` or `~/.netrc`): private-key blocks, cloud and
service tokens, the password of a URL, and values after a credential's keyword (`password`,
`oauth_token:`, `aws_secret_access_key =`). `find` names the precise formats in a text, for the
check that refuses a change that adds a secret.

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
    return list(_credential_parts(value))


@functools.lru_cache(maxsize=1024)
def _credential_parts(value: str) -> tuple[str, ...]:
    # Remembered per value: every Ledger and task of a process asks about the same environment.
    found = [match for detector in _detectors() for match in detector.analyze_string(value)]
    found += [match.group(0) for pattern in _MORE_FORMATS for match in pattern.finditer(value)]
    if not found:
        return ()
    return (value, *sorted({part for part in found if len(part) >= MIN_LENGTH and part != value}))


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
        """The redactor of `env` (this process's environment by default), the variables the
        policy declared and `names`: one per distinct environment and names (a Redactor does
        not change once made)."""
        source = os.environ if env is None else env
        return _from_env(tuple(source.items()), declared() | frozenset(names))

    def __bool__(self) -> bool:
        return True  # formats are redacted whether or not the environment holds a secret

    @property
    def values(self) -> list[tuple[str, str]]:
        """(secret value, its variable) of the environment's secrets, longest first."""
        return [
            (secret, replacement.removeprefix("[redacted:$").removesuffix("]"))
            for secret, replacement in self._pairs
        ]

    def text(self, value: str) -> str:
        for secret, replacement in self._pairs:
            if secret in value:
                value = value.replace(secret, replacement)
        return by_format(value)

    def data(self, value: bytes) -> bytes:
        for secret, replacement in self._bytes:
            if secret in value:
                value = value.replace(secret, replacement)
        text = value.decode("utf-8", "surrogateescape")
        redacted = by_format(text)
        return value if redacted == text else redacted.encode("utf-8", "surrogateescape")


@functools.lru_cache(maxsize=16)
def _from_env(env: tuple[tuple[str, str], ...], listed: frozenset[str]) -> Redactor:
    secrets: dict[str, str] = {}
    for name, value in env:
        if len(value) < MIN_LENGTH or value.isdigit():
            continue
        if name in listed or _NAME.search(name):
            secrets[name] = value
            continue
        for index, part in enumerate(credential_parts(value)):
            secrets[name if index == 0 else f"{name}#{index}"] = part
    return Redactor(secrets)


FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
        ),
    ),
    ("AWS access key", re.compile(r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    ("Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}")),
    ("API key", re.compile(r"(?<![A-Za-z0-9])sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("PyPI token", re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
)
"""Precise formats: what they find is a credential (they decide a change's rejection too)."""
URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]{1,256}):([^/\s@]{1,256})@")
KEYWORD_VALUE = re.compile(
    r"(?im)(?:\b(?:aws_secret_access_key|aws_session_token|oauth_token|access_token|refresh_token"
    r"|client_secret|password|passwd|api_?key|secret_?key|private_?key|token|secret)\b[\"']?\s*[=:]\s*[\"']?"
    r"|\bpassword\s+)([^\s\"',;]{8,})"
)
"""A value after a credential's keyword (credential files, logs): redacted from stored text
only — code says `token = ...` too often to refuse a change for it."""

# What a text must contain for each pattern to match in it (any one of the strings): checking
# that is a substring search, where the patterns (most begin with \b, which keeps the regex
# engine from seeking their first letters) try every position of the text. A gate only skips
# a pattern that cannot match, so what is redacted and found is the same with or without them.
_NEEDS: dict[str, tuple[str, ...]] = {
    "private key": ("-----BEGIN ",),
    "AWS access key": ("A3T", "AKIA", "ASIA", "ABIA", "ACCA"),
    "GitHub token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "GitLab token": ("glpat-",),
    "Slack token": ("xox",),
    "Slack webhook": ("https://hooks.slack.com/services/",),
    "Stripe key": ("_live_", "_test_"),
    "API key": ("sk-",),
    "Google API key": ("AIza",),
    "npm token": ("npm_",),
    "PyPI token": ("pypi-AgEIcHlwaS5vcmc",),
    "JWT": ("eyJ",),
}
_GATED = tuple((kind, pattern, _NEEDS[kind]) for kind, pattern in FORMATS)
# Every keyword of KEYWORD_VALUE holds one of these. Its case-insensitive match also takes the
# letters that fold to them (the Kelvin sign for k, the long s for s): casefold() folds those too.
_KEYWORD_PARTS = ("key", "token", "secret", "passw")


def _may_hold(text: str, needs: tuple[str, ...]) -> bool:
    return any(need in text for need in needs)


def by_format(text: str) -> str:
    """`text` with what has a credential's format replaced by `[redacted:KIND]`."""
    for kind, pattern, needs in _GATED:
        if _may_hold(text, needs):
            text = pattern.sub(f"[redacted:{kind}]", text)
    if "://" in text:
        text = URL_PASSWORD.sub(lambda m: f"{m.group(1)}:[redacted:password]@", text)
    if not _may_hold(text.casefold(), _KEYWORD_PARTS):
        return text
    return KEYWORD_VALUE.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + "[redacted]", text)


def find(text: str) -> list[tuple[str, int]]:
    """The credentials of precise formats in `text`: (kind, offset), in order."""
    found = [
        (kind, m.start())
        for kind, pattern, needs in _GATED
        if _may_hold(text, needs)
        for m in pattern.finditer(text)
    ]
    if "://" in text:
        found += [("password in a URL", m.start(2)) for m in URL_PASSWORD.finditer(text)]
    return sorted(found, key=lambda item: item[1])
