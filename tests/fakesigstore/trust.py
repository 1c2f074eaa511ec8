"""The client trust configuration of a fake instance, in the `ClientTrustConfig` v0.1 JSON format.

The trusted root names the Rekor key, the CT log key and the Fulcio CA chain (intermediate, then
root); the signing config points at the fake Fulcio, Rekor (API v1) and OIDC issuer URLs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .keys import SigningKey, b64, spki_der

CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
OPERATOR = "fakesigstore.dev"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log_instance(base_url: str, key: SigningKey, valid_from: datetime) -> dict[str, Any]:
    return {
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(spki_der(key.public_key)),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": _timestamp(valid_from)},
        },
        "logId": {"keyId": b64(key.key_id)},
    }


def _service(url: str, api_version: int, valid_from: datetime) -> dict[str, Any]:
    return {
        "url": url,
        "majorApiVersion": api_version,
        "validFor": {"start": _timestamp(valid_from)},
        "operator": OPERATOR,
    }


def client_trust_config(
    *,
    fulcio_url: str,
    rekor_url: str,
    oidc_url: str,
    ct_url: str,
    ca_chain: list[x509.Certificate],
    rekor_key: SigningKey,
    ct_key: SigningKey,
    valid_from: datetime,
) -> dict[str, Any]:
    """The trust config document; everything in it is valid from `valid_from` on, with no end."""
    return {
        "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": {
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [_log_instance(rekor_url, rekor_key, valid_from)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": OPERATOR, "commonName": "fakesigstore"},
                    "uri": fulcio_url,
                    "certChain": {
                        "certificates": [
                            {"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))} for c in ca_chain
                        ]
                    },
                    "validFor": {"start": _timestamp(valid_from)},
                }
            ],
            "ctlogs": [_log_instance(ct_url, ct_key, valid_from)],
            "timestampAuthorities": [],
        },
        "signingConfig": {
            "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
            "caUrls": [_service(fulcio_url, 1, valid_from)],
            "oidcUrls": [_service(oidc_url, 1, valid_from)],
            "rekorTlogUrls": [_service(rekor_url, 1, valid_from)],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": [],
            "tsaConfig": {"selector": "ANY"},
        },
    }
