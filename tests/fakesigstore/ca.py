"""A fake Fulcio certificate authority: a P-384 root and intermediate issuing short-lived leaves.

Leaves follow Fulcio's profile: empty subject, the identity in a critical SAN (email or URI), the
OIDC issuer in extensions 1.3.6.1.4.1.57264.1.1 (raw string) and .1.8 (DER UTF8String),
digitalSignature key usage, code-signing EKU, and an embedded precertificate SCT from the CT log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from .ct import CTLog, sct_list_extension_value
from .keys import key_id

LEAF_LIFETIME = timedelta(minutes=10)
CA_LIFETIME = timedelta(days=3650)
CA_BACKDATE = timedelta(days=1)
ORGANIZATION = "fakesigstore.dev"

OIDC_ISSUER_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OIDC_ISSUER_V2_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
SCT_LIST_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


@dataclass(frozen=True)
class Identity:
    """Who a leaf certificate is for: an email address or a URI (from the token's `sub`)."""

    value: str
    is_email: bool

    def general_name(self) -> x509.GeneralName:
        if self.is_email:
            return x509.RFC822Name(self.value)
        return x509.UniformResourceIdentifier(self.value)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    path_length: int,
    not_before: datetime,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .sign(issuer_key, hashes.SHA384())
    )


class FulcioCA:
    """A root CA, an intermediate CA below it, and leaf issuance with an embedded SCT."""

    def __init__(self, ct_log: CTLog, *, now: datetime | None = None) -> None:
        start = (now or datetime.now(UTC)).replace(microsecond=0) - CA_BACKDATE
        self._ct_log = ct_log
        self._root_key = ec.generate_private_key(ec.SECP384R1())
        self._intermediate_key = ec.generate_private_key(ec.SECP384R1())
        root_name = _name("fakesigstore")
        self.root = _ca_certificate(root_name, self._root_key, root_name, self._root_key, 1, start)
        self.intermediate = _ca_certificate(
            _name("fakesigstore-intermediate"), self._intermediate_key, root_name, self._root_key, 0, start
        )
        self.valid_from = start

    @property
    def chain(self) -> list[x509.Certificate]:
        """The CA certificates, intermediate first, root last (trusted root and Fulcio response order)."""
        return [self.intermediate, self.root]

    def issue(
        self, public_key: CertificatePublicKeyTypes, identity: Identity, oidc_issuer: str
    ) -> x509.Certificate:
        """A 10-minute leaf for `public_key`, bound to `identity` as asserted by `oidc_issuer`."""
        # Whole seconds: X.509 validity has second precision, and the SCT is stamped with the same
        # instant so the certificate, its SCT and the later log entry agree on when it was issued.
        now = datetime.now(UTC).replace(microsecond=0)
        serial = x509.random_serial_number()

        def builder() -> x509.CertificateBuilder:
            return (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.intermediate.subject)
                .public_key(public_key)
                .serial_number(serial)
                .not_valid_before(now)
                .not_valid_after(now + LEAF_LIFETIME)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=False,
                        crl_sign=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(self._intermediate_key.public_key()),
                    critical=False,
                )
                # The subject is empty, so the SAN must be critical (RFC 5280 4.2.1.6).
                .add_extension(x509.SubjectAlternativeName([identity.general_name()]), critical=True)
                .add_extension(
                    x509.UnrecognizedExtension(OIDC_ISSUER_OID, oidc_issuer.encode()), critical=False
                )
                .add_extension(
                    x509.UnrecognizedExtension(OIDC_ISSUER_V2_OID, asn1.encode_der(oidc_issuer)),
                    critical=False,
                )
            )

        # The precertificate: the same certificate without the SCT list. Its TBS is what the CT log
        # signs; the final certificate's `tbs_precertificate_bytes` must reproduce it exactly.
        precert = builder().sign(self._intermediate_key, hashes.SHA384())
        tbs = precert.tbs_certificate_bytes
        sct = self._ct_log.precert_sct(
            tbs, key_id(self._intermediate_key.public_key()), int(now.timestamp()) * 1000
        )
        certificate = (
            builder()
            .add_extension(
                x509.UnrecognizedExtension(SCT_LIST_OID, sct_list_extension_value([sct])), critical=False
            )
            .sign(self._intermediate_key, hashes.SHA384())
        )
        if certificate.tbs_precertificate_bytes != tbs:
            raise AssertionError("the SCT does not cover the issued certificate's precertificate TBS")
        return certificate
