"""A fake certificate transparency log: signs RFC 6962 precertificate SCTs for the fake Fulcio.

Only the signing half of a CT log exists here (nothing is served): Fulcio embeds the SCT in the
certificate it issues and sigstore verifies it offline against the CT key in the trusted root.
"""

from __future__ import annotations

import struct

from cryptography.hazmat import asn1

from .keys import SigningKey

SCT_VERSION_V1 = 0
SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP = 0
LOG_ENTRY_TYPE_PRECERT = 1
HASH_ALGORITHM_SHA256 = 4
SIGNATURE_ALGORITHM_ECDSA = 3


def _u24(length: int) -> bytes:
    if length >= 1 << 24:
        raise ValueError(f"too long for a TLS u24 length: {length}")
    return struct.pack("!I", length)[1:]


class CTLog:
    """A CT log key that issues signed certificate timestamps for precertificates."""

    def __init__(self) -> None:
        self.key = SigningKey()

    @property
    def log_id(self) -> bytes:
        return self.key.key_id

    def precert_sct(self, tbs_precertificate: bytes, issuer_key_id: bytes, timestamp_ms: int) -> bytes:
        """The TLS-encoded SCT over a precertificate (RFC 6962 section 3.2).

        The signature covers the `digitally-signed` struct sigstore's `verify_sct` rebuilds: version,
        signature type, timestamp, entry type, the issuer key hash, the TBSCertificate without the SCT
        extension, and the (empty) extensions.
        """
        if len(issuer_key_id) != 32:
            raise ValueError("the issuer key ID is a SHA-256 hash")
        extensions = b""
        signed = (
            struct.pack(
                "!BBQH",
                SCT_VERSION_V1,
                SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP,
                timestamp_ms,
                LOG_ENTRY_TYPE_PRECERT,
            )
            + issuer_key_id
            + _u24(len(tbs_precertificate))
            + tbs_precertificate
            + struct.pack("!H", len(extensions))
            + extensions
        )
        signature = self.key.sign(signed)
        return (
            struct.pack("!B", SCT_VERSION_V1)
            + self.log_id
            + struct.pack("!QH", timestamp_ms, len(extensions))
            + extensions
            + struct.pack("!BBH", HASH_ALGORITHM_SHA256, SIGNATURE_ALGORITHM_ECDSA, len(signature))
            + signature
        )


def sct_list_extension_value(scts: list[bytes]) -> bytes:
    """The extnValue content of the SCT list extension (OID 1.3.6.1.4.1.11129.2.4.2).

    RFC 6962 wraps the TLS `SignedCertificateTimestampList` in a DER OCTET STRING, itself carried in
    the extension's extnValue OCTET STRING.
    """
    entries = b"".join(struct.pack("!H", len(sct)) + sct for sct in scts)
    return asn1.encode_der(struct.pack("!H", len(entries)) + entries)
