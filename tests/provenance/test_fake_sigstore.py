"""The fake Sigstore against the real sigstore client, verifier and CLI, all offline on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore._internal.rekor.client import RekorClient
from sigstore._internal.trust import KeyringPurpose
from sigstore.dsse import DigestSet, Statement, StatementBuilder, Subject
from sigstore.errors import VerificationError
from sigstore.models import Bundle
from sigstore.oidc import IdentityError, IdentityToken
from sigstore.sign import SigningContext
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity, OIDCIssuer, OIDCIssuerV2

from tests.fakesigstore import FakeSigstore

IDENTITY = "ci@example.com"
WORKFLOW = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
SIGSTORE_CLI = Path(sys.executable).parent / "sigstore"


def statement_for(name: str, content: bytes) -> Statement:
    return (
        StatementBuilder()
        .subjects([Subject(name=name, digest=DigestSet({"sha256": hashlib.sha256(content).hexdigest()}))])
        .predicate_type("https://conductor.dev/provenance/v1")
        .predicate({"builder": "conductor-tests"})
        .build()
    )


def sign_statement(fake_sigstore: FakeSigstore, statement: Statement, identity: str = IDENTITY) -> Bundle:
    context = SigningContext.from_trust_config(fake_sigstore.trust_config)
    with context.signer(IdentityToken(fake_sigstore.identity_token(identity))) as signer:
        return signer.sign_dsse(statement)


def verifier(fake_sigstore: FakeSigstore) -> Verifier:
    return Verifier(trusted_root=fake_sigstore.trust_config.trusted_root)


def make_csr_b64() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def request_certificate(fake_sigstore: FakeSigstore, token: str) -> requests.Response:
    return requests.post(
        f"{fake_sigstore.fulcio_url}/api/v2/signingCert",
        headers={"Authorization": f"Bearer {token}"},
        json={"certificateSigningRequest": make_csr_b64()},
        timeout=10,
    )


def test_signed_statement_verifies_with_identity_and_issuer(fake_sigstore: FakeSigstore) -> None:
    statement = statement_for("app.whl", b"wheel bytes")
    bundle = sign_statement(fake_sigstore, statement)

    # The bundle survives serialization, as it would on disk.
    bundle = Bundle.from_json(bundle.to_json())
    payload_type, payload = verifier(fake_sigstore).verify_dsse(
        bundle, Identity(identity=IDENTITY, issuer=fake_sigstore.issuer)
    )

    assert payload_type == "application/vnd.in-toto+json"
    assert payload == statement._contents
    [entry] = fake_sigstore.entries
    assert (entry.kind, entry.api_version, entry.log_index) == ("dsse", "0.0.1", 0)
    assert entry.body["spec"]["payloadHash"]["value"] == hashlib.sha256(payload).hexdigest()
    assert bundle.log_entry._inner.integrated_time == entry.integrated_time


def test_certificate_follows_the_fulcio_profile(fake_sigstore: FakeSigstore) -> None:
    cert = sign_statement(fake_sigstore, statement_for("a", b"a")).signing_certificate

    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == [IDENTITY]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(minutes=10)
    # Both forms of the issuer extension: 1.1 (raw string) and 1.8 (DER UTF8String).
    OIDCIssuer(fake_sigstore.issuer).verify(cert)
    OIDCIssuerV2(fake_sigstore.issuer).verify(cert)
    [sct] = cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    ct_key = fake_sigstore.ct_log.key.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert sct.log_id == hashlib.sha256(ct_key).digest()


def test_subject_identity_becomes_a_uri_san(fake_sigstore: FakeSigstore) -> None:
    bundle = sign_statement(fake_sigstore, statement_for("a", b"a"), identity=WORKFLOW)

    verifier(fake_sigstore).verify_dsse(bundle, Identity(identity=WORKFLOW, issuer=fake_sigstore.issuer))
    san = bundle.signing_certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [WORKFLOW]


def test_wrong_identity_fails(fake_sigstore: FakeSigstore) -> None:
    bundle = sign_statement(fake_sigstore, statement_for("a", b"a"))

    with pytest.raises(VerificationError, match="SANs do not match"):
        verifier(fake_sigstore).verify_dsse(
            bundle, Identity(identity="mallory@example.com", issuer=fake_sigstore.issuer)
        )


def test_wrong_issuer_fails(fake_sigstore: FakeSigstore) -> None:
    bundle = sign_statement(fake_sigstore, statement_for("a", b"a"))

    with pytest.raises(VerificationError, match="OIDCIssuer does not match"):
        verifier(fake_sigstore).verify_dsse(
            bundle, Identity(identity=IDENTITY, issuer="https://token.actions.githubusercontent.com")
        )


def test_tampered_payload_fails(fake_sigstore: FakeSigstore) -> None:
    bundle = sign_statement(fake_sigstore, statement_for("app.whl", b"wheel bytes"))
    document = json.loads(bundle.to_json())
    forged = statement_for("app.whl", b"evil wheel bytes")._contents
    document["dsseEnvelope"]["payload"] = base64.b64encode(forged).decode()
    tampered = Bundle.from_json(json.dumps(document))

    with pytest.raises(VerificationError, match="DSSE: invalid signature"):
        verifier(fake_sigstore).verify_dsse(
            tampered, Identity(identity=IDENTITY, issuer=fake_sigstore.issuer)
        )


def test_bundle_from_another_instance_fails(fake_sigstore: FakeSigstore, tmp_path: Path) -> None:
    with FakeSigstore(tmp_path / "other") as other:
        foreign = sign_statement(other, statement_for("a", b"a"))
        # It is a good bundle for the instance that made it...
        verifier(other).verify_dsse(foreign, Identity(identity=IDENTITY, issuer=other.issuer))

    # ...and worthless under this instance's trust root, even naming the other issuer.
    with pytest.raises(VerificationError):
        verifier(fake_sigstore).verify_dsse(foreign, Identity(identity=IDENTITY, issuer=other.issuer))
    assert fake_sigstore.entries == []


def test_artifact_signatures_and_inclusion_proofs_of_older_entries(fake_sigstore: FakeSigstore) -> None:
    context = SigningContext.from_trust_config(fake_sigstore.trust_config)
    artifacts = [f"artifact {i}".encode() for i in range(6)]
    with context.signer(IdentityToken(fake_sigstore.identity_token(IDENTITY))) as signer:
        bundles = [signer.sign_artifact(artifact) for artifact in artifacts]

    policy = Identity(identity=IDENTITY, issuer=fake_sigstore.issuer)
    for artifact, bundle in zip(artifacts, bundles, strict=True):
        verifier(fake_sigstore).verify_artifact(artifact, bundle, policy)
    with pytest.raises(VerificationError):
        verifier(fake_sigstore).verify_artifact(b"another artifact", bundles[0], policy)
    assert [e.kind for e in fake_sigstore.entries] == ["hashedrekord"] * 6

    # Entries fetched later are proven against the grown tree, with a fresh signed checkpoint.
    keyring = fake_sigstore.trust_config.trusted_root.rekor_keyring(KeyringPurpose.VERIFY)
    entries = RekorClient(fake_sigstore.rekor_url).log.entries
    for logged in fake_sigstore.entries:
        fetched = entries.get(uuid=logged.uuid)
        assert fetched._inner.inclusion_proof.tree_size == 6
        fetched._verify(keyring)
    assert entries.get(log_index=3)._inner.canonicalized_body == fake_sigstore.entries[3].canonicalized_body


@pytest.mark.slow
def test_cli_verifies_identity_with_the_trust_config(fake_sigstore: FakeSigstore, tmp_path: Path) -> None:
    artifact = tmp_path / "app.whl"
    artifact.write_bytes(b"wheel bytes")
    context = SigningContext.from_trust_config(fake_sigstore.trust_config)
    with context.signer(IdentityToken(fake_sigstore.identity_token(IDENTITY))) as signer:
        artifact_bundle = signer.sign_artifact(artifact.read_bytes())
        dsse_bundle = signer.sign_dsse(statement_for(artifact.name, artifact.read_bytes()))
    (tmp_path / "artifact.sigstore.json").write_text(artifact_bundle.to_json())
    (tmp_path / "dsse.sigstore.json").write_text(dsse_bundle.to_json())
    # Detached materials: the CLI looks the entry up in the fake Rekor (entries/retrieve).
    (tmp_path / "app.whl.crt").write_bytes(
        artifact_bundle.signing_certificate.public_bytes(serialization.Encoding.PEM)
    )
    (tmp_path / "app.whl.sig").write_text(base64.b64encode(artifact_bundle.signature).decode())

    def cli_verify(materials: list[str], identity: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(SIGSTORE_CLI),
                "--trust-config",
                str(fake_sigstore.trust_config_path),
                "verify",
                "identity",
                *materials,
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                fake_sigstore.issuer,
                str(artifact),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    bundled = ["--offline", "--bundle", str(tmp_path / "artifact.sigstore.json")]
    for materials in (
        bundled,
        ["--offline", "--bundle", str(tmp_path / "dsse.sigstore.json")],
        ["--certificate", str(tmp_path / "app.whl.crt"), "--signature", str(tmp_path / "app.whl.sig")],
    ):
        result = cli_verify(materials, IDENTITY)
        assert result.returncode == 0, result.stderr
        assert f"OK: {artifact}" in result.stderr

    refused = cli_verify(bundled, "mallory@example.com")
    assert refused.returncode != 0
    assert f"FAIL: {artifact}" in refused.stderr


def test_expired_token_is_refused(fake_sigstore: FakeSigstore) -> None:
    expired = fake_sigstore.identity_token(IDENTITY, expired=True)

    # The client refuses to use it...
    with pytest.raises(IdentityError):
        IdentityToken(expired)
    # ...and Fulcio refuses it too, for a client that would send it anyway.
    response = request_certificate(fake_sigstore, expired)
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_fulcio_checks_the_token_signature(fake_sigstore: FakeSigstore, tmp_path: Path) -> None:
    assert request_certificate(fake_sigstore, fake_sigstore.identity_token(IDENTITY)).status_code == 201

    with FakeSigstore(tmp_path / "other") as other:
        forged = other.identity_token(IDENTITY)
    header, _, signature = forged.split(".")
    claims = json.loads(base64.urlsafe_b64decode(forged.split(".")[1] + "=="))
    claims["iss"] = fake_sigstore.issuer
    relabelled = ".".join(
        [header, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), signature]
    )
    for token in (forged, relabelled, "not-a-jwt"):
        assert request_certificate(fake_sigstore, token).status_code == 401


def test_rekor_rejects_a_signature_that_does_not_verify(fake_sigstore: FakeSigstore) -> None:
    bundle = sign_statement(fake_sigstore, statement_for("a", b"a"))
    cert_pem = bundle.signing_certificate.public_bytes(serialization.Encoding.PEM)
    proposed: dict[str, Any] = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(b"x").hexdigest()}},
            "signature": {
                "content": base64.b64encode(bundle.signature).decode(),
                "publicKey": {"content": base64.b64encode(cert_pem).decode()},
            },
        },
    }

    response = requests.post(f"{fake_sigstore.rekor_url}/api/v1/log/entries", json=proposed, timeout=10)
    assert response.status_code == 400
    assert len(fake_sigstore.entries) == 1
