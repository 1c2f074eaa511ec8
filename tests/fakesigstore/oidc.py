"""A fake OIDC identity provider: mints ES256 identity tokens and verifies them for the fake Fulcio.

Tokens carry the claims sigstore's `IdentityToken` requires (iss, sub, aud "sigstore", iat, nbf,
exp) plus `email`/`email_verified` for email identities. They are signed with a key that belongs to
one `FakeIssuer`, so a token from another instance is rejected by this instance's Fulcio. Served
over HTTP, the issuer answers OIDC discovery and its JWKS; tokens are minted in process (no login).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .server import HttpError, Request, Response

AUDIENCE = "sigstore"
TOKEN_LIFETIME = 300  # seconds
CLOCK_LEEWAY = 5  # seconds, the same leeway sigstore's IdentityToken grants

_P256_COORDINATE_BYTES = 32


class TokenError(Exception):
    """The token is malformed, forged, expired or not meant for Fulcio."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeIssuer:
    """An OIDC issuer at `url` whose tokens are signed with its own P-256 key."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.kid = uuid.uuid4().hex

    def mint(
        self,
        identity: str,
        *,
        expired: bool = False,
        audience: str = AUDIENCE,
        lifetime: int = TOKEN_LIFETIME,
    ) -> str:
        """A signed JWT for `identity`: an email address becomes the `email` claim, anything else `sub`."""
        now = int(time.time())
        issued = now - 2 * lifetime if expired else now
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
            "jti": uuid.uuid4().hex,
        }
        if "@" in identity and "://" not in identity:
            claims.update(
                sub=uuid.uuid5(uuid.NAMESPACE_URL, identity).hex, email=identity, email_verified=True
            )
        else:
            claims["sub"] = identity
        return self._sign(claims)

    def _sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "ES256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(_P256_COORDINATE_BYTES, "big") + s.to_bytes(_P256_COORDINATE_BYTES, "big")
        return f"{signing_input}.{_b64url(raw)}"

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, once its signature, issuer, audience and validity period check out."""
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except ValueError as exc:
            raise TokenError(f"malformed token: {exc}") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError("malformed token: header and claims must be JSON objects")
        if header.get("alg") != "ES256":
            raise TokenError(f"unsupported token algorithm: {header.get('alg')!r}")
        if len(signature) != 2 * _P256_COORDINATE_BYTES:
            raise TokenError("malformed token signature")
        der = encode_dss_signature(
            int.from_bytes(signature[:_P256_COORDINATE_BYTES], "big"),
            int.from_bytes(signature[_P256_COORDINATE_BYTES:], "big"),
        )
        try:
            self._key.public_key().verify(
                der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature as exc:
            raise TokenError("token signature is not valid for this issuer") from exc

        if claims.get("iss") != self.url:
            raise TokenError(f"unexpected token issuer: {claims.get('iss')!r}")
        audiences = claims.get("aud")
        if AUDIENCE not in (audiences if isinstance(audiences, list) else [audiences]):
            raise TokenError(f"token audience does not include {AUDIENCE!r}")
        if not isinstance(claims.get("sub"), str):
            raise TokenError("token lacks a 'sub' claim")
        times = {claim: claims.get(claim) for claim in ("iat", "exp", "nbf")}
        for claim, value in times.items():
            if not (isinstance(value, int | float) or (claim == "nbf" and value is None)):
                raise TokenError(f"token lacks a numeric {claim!r} claim")
        now = time.time()
        if not now < claims["exp"] + CLOCK_LEEWAY:
            raise TokenError("token has expired")
        not_before = max(value for value in (times["iat"], times["nbf"]) if value is not None)
        if not_before > now + CLOCK_LEEWAY:
            raise TokenError("token is not valid yet")
        return claims

    def discovery_document(self) -> dict[str, Any]:
        """The `.well-known/openid-configuration` this issuer serves."""
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/keys",
            "authorization_endpoint": f"{self.url}/auth",
            "token_endpoint": f"{self.url}/token",
            "id_token_signing_alg_values_supported": ["ES256"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
        }

    def jwks(self) -> dict[str, Any]:
        """The issuer's public signing key as a JWK set."""
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "alg": "ES256",
                    "use": "sig",
                    "kid": self.kid,
                    "x": _b64url(numbers.x.to_bytes(_P256_COORDINATE_BYTES, "big")),
                    "y": _b64url(numbers.y.to_bytes(_P256_COORDINATE_BYTES, "big")),
                }
            ]
        }

    def __call__(self, request: Request) -> Response:
        """Discovery and JWKS; the issuer is served at the root of its own service."""
        if request.method == "GET" and request.path == "/.well-known/openid-configuration":
            return Response.json(self.discovery_document())
        if request.method == "GET" and request.path == "/keys":
            return Response.json(self.jwks())
        raise HttpError(404, f"no route for {request.method} {request.path}")
