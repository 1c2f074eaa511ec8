"""Key helpers shared by the fake services: DER public keys, RFC 6962 key IDs, ECDSA signing."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of `key`."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 6962 key ID: SHA-256 of the DER SubjectPublicKeyInfo (Rekor log ID, CT log ID, key hints)."""
    return hashlib.sha256(spki_der(key)).digest()


def b64(data: bytes) -> str:
    """Standard (padded) base64 text."""
    return base64.b64encode(data).decode("ascii")


class SigningKey:
    """An ECDSA P-256 key that signs with SHA-256, the kind Rekor and the CT log use."""

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._private.public_key()

    @property
    def key_id(self) -> bytes:
        return key_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """DER-encoded ECDSA-SHA256 signature over `data`."""
        return self._private.sign(data, ec.ECDSA(hashes.SHA256()))
