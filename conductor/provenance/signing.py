"""Signing statements with sigstore (DSSE) and verifying the bundles — the only module that
imports sigstore, and only when a signature is made or checked.

Identity tokens come from SIGSTORE_ID_TOKEN, from ambient CI credentials (GitHub Actions
OIDC and the other environments sigstore detects), or from the interactive browser flow
(--oauth). The trust configuration is the public Sigstore instance unless a file is given
(--trust-config, or CONDUCTOR_TRUST_CONFIG) — which is also how tests use a local instance.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from conductor.errors import ConductorError

if TYPE_CHECKING:
    from sigstore.models import Bundle, ClientTrustConfig
    from sigstore.oidc import IdentityToken
    from sigstore.sign import Signer as SigstoreSigner
    from sigstore.verify.policy import VerificationPolicy

    TrustConfig = ClientTrustConfig

TRUST_ENV = "CONDUCTOR_TRUST_CONFIG"
TOKEN_ENV = "SIGSTORE_ID_TOKEN"
POLICY_LOGGER = "sigstore.verify.policy"  # where sigstore warns that no identity is checked
AMBIENT_ENV = ("GITHUB_ACTIONS", "GOOGLE_SERVICE_ACCOUNT_NAME", "BUILDKITE", "GITLAB_CI", "CIRCLECI")
"""The variables without which none of the ambient detectors sigstore runs (the `id` library's
detect_credential: GitHub Actions, Google Cloud, Buildkite, GitLab, CircleCI) looks further —
Google Cloud's also looks at the machine's product name."""
GCP_PRODUCT_FILE = Path("/sys/class/dmi/id/product_name")


def ambient_possible() -> bool:
    """Whether sigstore's ambient detection could find a credential here: checked without
    importing sigstore (a third of a second), so a run on a laptop does not pay for it."""
    if any(os.environ.get(name) for name in AMBIENT_ENV):
        return True
    try:
        return GCP_PRODUCT_FILE.read_text(encoding="utf-8", errors="replace").strip() in {
            "Google",
            "Google Compute Engine",
        }
    except OSError:
        return False


class SigningError(ConductorError):
    """A statement could not be signed (the step itself is kept)."""


class BundleError(ConductorError):
    """A bundle does not verify."""


def trust_config(path: str | Path | None = None, *, offline: bool = False) -> TrustConfig:
    """The client trust configuration: a file, or the public Sigstore instance — refreshed over
    TUF, or (offline) from the local TUF cache, which starts as the root sigstore ships with."""
    from sigstore.models import ClientTrustConfig

    chosen = path or os.environ.get(TRUST_ENV)
    if chosen:
        try:
            return ClientTrustConfig.from_json(Path(chosen).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConductorError(f"cannot read the trust config {chosen}: {exc.strerror}") from None
        except Exception as exc:  # sigstore raises several kinds for a bad file
            raise ConductorError(f"{chosen}: not a sigstore client trust config ({exc})") from None
    try:
        return ClientTrustConfig.production(offline=offline)
    except Exception as exc:
        raise ConductorError(
            f"cannot load the public Sigstore trust root{' from the local cache' if offline else ''}: {exc}",
            hint="give a sigstore client trust config file with --trust-config",
        ) from None


@dataclass
class Identity:
    """An identity token and where it came from."""

    token: IdentityToken
    source: str

    @property
    def name(self) -> str:
        """Who the certificate will name: the verified email if the token has one (Fulcio puts
        it in the SAN), else the identity claim sigstore uses for this issuer."""
        claims = getattr(self.token, "_unverified_claims", {})
        if isinstance(claims, dict) and claims.get("email") and claims.get("email_verified", True):
            return str(claims["email"])
        return str(self.token.identity)

    @property
    def issuer(self) -> str:
        return str(self.token.issuer)


def find_identity(*, oauth: bool = False, trust: TrustConfig | None = None) -> Identity | None:
    """An identity token from the environment, the CI, or (with oauth) the browser."""
    if not (oauth or os.environ.get(TOKEN_ENV) or ambient_possible()):
        return None
    from sigstore.oidc import IdentityError, IdentityToken, Issuer, detect_credential

    def make(raw: str, source: str) -> Identity:
        try:
            return Identity(IdentityToken(raw), source)
        except IdentityError as exc:
            raise SigningError(f"the identity token from {source} is not usable: {exc}") from None

    raw = os.environ.get(TOKEN_ENV)
    if raw:
        return make(raw, TOKEN_ENV)
    try:
        ambient = detect_credential()
    except IdentityError as exc:
        raise SigningError(f"ambient credentials were found but not usable: {exc}") from None
    if ambient:
        return make(ambient, "ambient CI credentials")
    if oauth:
        issuer = Issuer((trust or trust_config()).signing_config.get_oidc_url())
        return Identity(issuer.identity_token(), "interactive sign-in")
    return None


@dataclass(frozen=True)
class SigningChoice:
    """What the command line says about signing; `sign` None defers to policy provenance.sign."""

    sign: bool | None = None
    oauth: bool = False
    trust_config: str | None = None

    def mode(self, policy_mode: str) -> str:
        if self.sign is None:
            return policy_mode
        return "always" if self.sign else "never"


NO_IDENTITY_HINT = (
    "set SIGSTORE_ID_TOKEN, run in CI with OIDC (GitHub Actions: `permissions: id-token: write`), "
    "or pass --oauth to sign in; --no-sign records provenance unsigned"
)


@dataclass(frozen=True)
class Signing:
    """How a run signs: its signer (None: unsigned) and the line to say when work starts."""

    signer: Signer | None = None
    note: str | None = None


def signing_for(choice: SigningChoice, policy_mode: str) -> Signing:
    """Decide signing for a run before any work starts.

    never: unsigned, silently. always: an identity and a trust root are required, or this
    raises. auto: sign when an identity is found, else unsigned with a note saying why."""
    mode = choice.mode(policy_mode)
    if mode == "never":
        return Signing()
    try:
        trust = trust_config(choice.trust_config) if choice.oauth else None
        identity = find_identity(oauth=choice.oauth, trust=trust)
        if identity is None:
            raise SigningError("no sigstore identity is available", hint=NO_IDENTITY_HINT)
        signer = Signer(identity, trust or trust_config(choice.trust_config))
    except ConductorError as exc:
        if mode == "always":
            raise SigningError(
                f"signing is required (--sign or provenance.sign: always), but {exc.message}", hint=exc.hint
            ) from None
        return Signing(note=f"provenance recorded unsigned: {exc.message}")
    return Signing(signer, f"signing provenance as {identity.name} ({identity.source})")


class Signer:
    """Signs statements for one run; the signing certificate is reused while it is valid."""

    def __init__(self, identity: Identity, trust: TrustConfig) -> None:
        from sigstore.sign import SigningContext

        self.identity = identity
        self._context = SigningContext.from_trust_config(trust)
        self._signer: SigstoreSigner | None = None
        self._lock = threading.Lock()

    def _fresh(self) -> SigstoreSigner:
        from sigstore.sign import Signer as SigstoreSigner

        return SigstoreSigner(self.identity.token, self._context, cache=True)

    def sign(self, statement: bytes) -> tuple[str, str]:
        """The sigstore bundle (JSON) of a DSSE envelope around `statement`, and who it names."""
        from sigstore import dsse
        from sigstore._internal.fulcio import ExpiredCertificate
        from sigstore.oidc import ExpiredIdentity

        with self._lock:
            try:
                if self._signer is None:
                    self._signer = self._fresh()
                try:
                    bundle = self._signer.sign_dsse(dsse.Statement(statement))
                except ExpiredCertificate:  # a long run outlived the short-lived certificate
                    self._signer = self._fresh()
                    bundle = self._signer.sign_dsse(dsse.Statement(statement))
            except ExpiredIdentity:
                raise SigningError("the identity token has expired", hint="get a fresh token") from None
            except Exception as exc:
                raise SigningError(f"signing failed: {type(exc).__name__}: {exc}") from None
        return str(bundle.to_json()), signed_by(bundle)


def signed_by(bundle: Bundle) -> str:
    """The identities (SANs) of a bundle's signing certificate."""
    from cryptography.x509 import SubjectAlternativeName

    names = bundle.signing_certificate.extensions.get_extension_for_class(SubjectAlternativeName).value
    return ", ".join(str(getattr(name, "value", name)) for name in names)


def verify_bundle(
    bundle_json: bytes, statement: bytes, *, trust: TrustConfig, identity: str | None, issuer: str | None
) -> str:
    """Check a bundle against the trust root and the identity policy, and that it signs exactly
    `statement`. Returns who signed it; raises BundleError."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity as IdentityPolicy
    from sigstore.verify.policy import UnsafeNoOp

    try:
        bundle = Bundle.from_json(bundle_json)
    except Exception as exc:
        raise BundleError(f"the bundle cannot be read: {exc}") from None
    policy: VerificationPolicy = (
        IdentityPolicy(identity=identity, issuer=issuer) if identity and issuer else UnsafeNoOp()
    )
    verifier = Verifier(trusted_root=trust.trusted_root)
    try:
        with _quiet(POLICY_LOGGER, when=isinstance(policy, UnsafeNoOp)):
            payload_type, payload = verifier.verify_dsse(bundle, policy)
    except SigstoreError as exc:
        raise BundleError(f"the bundle does not verify: {exc}") from None
    except Exception as exc:
        raise BundleError(f"the bundle does not verify: {type(exc).__name__}: {exc}") from None
    if payload != statement:
        raise BundleError("the bundle signs a different statement")
    if payload_type != "application/vnd.in-toto+json":
        raise BundleError(f"the bundle signs a {payload_type}, not an in-toto statement")
    return signed_by(bundle)


@contextlib.contextmanager
def _quiet(logger: str, *, when: bool) -> Iterator[None]:
    """Drop the warnings `logger` gives for the duration. Without an identity to check, sigstore
    warns "unsafe (no-op) verification policy used! no verification performed!" — though the
    signature is verified, and verify says what was not checked ("identity not checked")."""
    if not when:
        yield
        return
    target = logging.getLogger(logger)

    def beyond_warnings(record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING

    target.addFilter(beyond_warnings)
    try:
        yield
    finally:
        target.removeFilter(beyond_warnings)
