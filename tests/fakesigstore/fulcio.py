"""The fake Fulcio HTTP API: `POST /api/v2/signingCert` and `GET /api/v2/trustBundle`.

A signing request must carry a bearer identity token that the fake issuer verifies (401 otherwise)
and a PEM CSR, base64-encoded in `certificateSigningRequest`, whose self-signature proves possession
of the key. The answer is `{"signedCertificateEmbeddedSct": {"chain": {"certificates": [PEM...]}}}`
with the leaf first, then the intermediate and the root.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .ca import FulcioCA, Identity
from .oidc import FakeIssuer, TokenError
from .server import HttpError, Request, Response

SIGNING_CERT_PATH = "/api/v2/signingCert"
TRUST_BUNDLE_PATH = "/api/v2/trustBundle"


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    """Fulcio's rule for a generic issuer: a verified `email` claim, else the `sub` claim as a URI."""
    email = claims.get("email")
    if email is not None:
        if not isinstance(email, str) or not email:
            raise HttpError(400, "the token's email claim is not a string")
        if claims.get("email_verified") is not True:
            raise HttpError(401, "the token's email is not verified")
        return Identity(email, is_email=True)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise HttpError(400, "the token has neither an email nor a subject")
    return Identity(subject, is_email=False)


class Fulcio:
    """Binds the fake CA to identities vouched for by the fake issuer."""

    def __init__(self, ca: FulcioCA, issuer: FakeIssuer) -> None:
        self._ca = ca
        self._issuer = issuer

    def __call__(self, request: Request) -> Response:
        if request.method == "POST" and request.path == SIGNING_CERT_PATH:
            return self._signing_cert(request)
        if request.method == "GET" and request.path == TRUST_BUNDLE_PATH:
            return Response.json({"chains": [{"certificates": [_pem(c) for c in self._ca.chain]}]})
        raise HttpError(404, f"no route for {request.method} {request.path}")

    def _signing_cert(self, request: Request) -> Response:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HttpError(401, "a bearer identity token is required")
        try:
            claims = self._issuer.verify(token.strip())
        except TokenError as exc:
            raise HttpError(401, f"invalid identity token: {exc}") from exc
        identity = identity_from_claims(claims)

        body = request.json()
        encoded = body.get("certificateSigningRequest") if isinstance(body, dict) else None
        if not isinstance(encoded, str):
            raise HttpError(400, "certificateSigningRequest (a base64 PEM CSR) is required")
        try:
            csr = x509.load_pem_x509_csr(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise HttpError(400, f"certificateSigningRequest is not a base64 PEM CSR: {exc}") from exc
        if not csr.is_signature_valid:
            raise HttpError(400, "the CSR signature does not prove possession of its key")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise HttpError(400, "only ECDSA public keys are supported by the fake CA")

        certificate = self._ca.issue(public_key, identity, claims["iss"])
        chain = [_pem(certificate), *(_pem(c) for c in self._ca.chain)]
        return Response.json({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}, 201)
