"""What the processes Conductor starts for a step get of its environment: an allowlist.

A command (an agent, a verify or setup command, a worker's command) gets the basics every
program needs — PATH, the locale, the terminal, proxy and CA settings — plus what the policy
names (`sandbox.env`, globs allowed) or an agent profile lists. Nothing that looks like a
credential passes unless it is named exactly: a glob never lets through a variable whose name
looks secret (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*CREDENTIAL*`, …), the agent sockets
(`SSH_AUTH_SOCK`, `GPG_AGENT_INFO`, `DOCKER_HOST`) or a cloud provider's credential variables.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

BASE = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "USER",
    "LOGNAME",
    "SHELL",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_CONSTRAINT",
    "PIP_CERT",
    "npm_config_registry",
    "VIRTUAL_ENV",
)
"""What every command gets (when set): a program's basics, nothing of anyone's identity."""

SECRET_LOOKING = (
    "*KEY*",
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*PASSPHRASE*",
    "*CREDENTIAL*",
    "*PRIVATE*",
    "*COOKIE*",
    "*SESSION*",
    "*AUTH*",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "GNUPGHOME",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "KUBECONFIG",
    "AWS_*",
    "AZURE_*",
    "ARM_CLIENT_*",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "CLOUDSDK_*",
    "GCLOUD_*",
    "VAULT_*",
    "DATABASE_URL",
    "*_DSN",
    "NETRC",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "CONDUCTOR_OVERRIDE",
    "CONDUCTOR_TRUST_CONFIG",
    "SIGSTORE_*",
    "ACTIONS_ID_TOKEN_*",
)
"""Never passed unless named exactly (`sandbox.env`, a profile's `env`)."""


def _any_of(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))


_SECRET = _any_of(SECRET_LOOKING)
_BASE = _any_of(BASE)


@functools.lru_cache(maxsize=4096)
def secret_looking(name: str) -> str | None:
    """The pattern that makes `name` look like a credential, or None."""
    upper = name.upper()
    if not _SECRET.match(upper):
        return None
    return next((pattern for pattern in SECRET_LOOKING if fnmatch.fnmatchcase(upper, pattern)), None)


@dataclass(frozen=True)
class Decision:
    """Whether one variable of Conductor's environment reaches the step's commands, and why."""

    name: str
    passed: bool
    why: str  # "basic", "named by sandbox.env (X*)", "looks like a secret (*TOKEN*)", "not named"

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "passed": self.passed, "why": self.why}


@dataclass(frozen=True)
class Allowlist:
    """The names that pass: the basics, then `named` (exact names or globs; a glob never lets a
    secret-looking name through, an exact name does)."""

    named: Sequence[str] = ()
    origin: str = "sandbox.env"
    extra: Sequence[str] = field(default=())  # exact names an agent profile lists

    def decide(self, name: str) -> Decision:
        if name in self.extra:
            return Decision(name, True, "its agent profile lists it")
        if name in self.named:
            return Decision(name, True, f"named by {self.origin}")
        secret = secret_looking(name)
        if secret is not None:
            return Decision(name, False, f"looks like a secret ({secret}); name it exactly in {self.origin}")
        if _BASE.match(name):
            return Decision(name, True, "basic")
        glob = next((p for p in self.named if fnmatch.fnmatchcase(name, p)), None)
        if glob is not None:
            return Decision(name, True, f"named by {self.origin} ({glob})")
        return Decision(name, False, f"not named in {self.origin}")

    def apply(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The variables of `environ` that pass."""
        return {name: value for name, value in environ.items() if self.decide(name).passed}

    def explain(self, environ: Iterable[str]) -> list[Decision]:
        """Every variable of `environ` with its decision, sorted by name."""
        return [self.decide(name) for name in sorted(environ)]
