"""A fake Rekor v1 transparency log: canonical entries, an RFC 6962 tree, SETs and signed checkpoints.

Accepted kinds are `hashedrekord` and `dsse` (API version 0.0.1). As real Rekor does, the log checks
the proposed signatures against the given verifiers, stores the canonical entry body (RFC 8785 JSON;
for dsse the proposed content is replaced by the envelope and payload hashes and the signature list),
and answers with the entry, its signed entry timestamp and an inclusion proof with a checkpoint.

Routes (under /api/v1): POST log/entries, GET log/entries?logIndex=N, GET log/entries/<uuid>,
POST log/entries/retrieve, GET log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from .keys import SigningKey, b64
from .merkle import MerkleTree, leaf_hash
from .server import HttpError, Request, Response

LOG_NAME = "rekor.fakesigstore.dev"
API_PREFIX = "/api/v1"

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


@dataclass(frozen=True)
class LogEntry:
    """One integrated entry: its position, canonical body and the log's promise to include it."""

    log_index: int
    uuid: str
    kind: str
    api_version: str
    body: dict[str, Any]
    canonicalized_body: bytes
    integrated_time: int
    signed_entry_timestamp: bytes


def _field(obj: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(obj, dict) or name not in obj:
            raise HttpError(400, f"proposed entry lacks {'.'.join(path)}")
        obj = obj[name]
    return obj


def _decode_b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise HttpError(400, f"{what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise HttpError(400, f"{what} is not valid base64") from exc


class _Verifier:
    """A signer's public key as proposed in an entry: a PEM certificate or a PEM public key."""

    def __init__(self, encoded: Any) -> None:
        pem = _decode_b64(encoded, "verifier")
        key: Any
        try:
            certificate = x509.load_pem_x509_certificate(pem)
            key = certificate.public_key()
            self.canonical_pem = certificate.public_bytes(serialization.Encoding.PEM)
        except ValueError:
            try:
                key = serialization.load_pem_public_key(pem)
            except ValueError as exc:
                raise HttpError(400, "verifier is neither a PEM certificate nor a PEM public key") from exc
            self.canonical_pem = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise HttpError(400, "only ECDSA verifiers are supported by the fake log")
        self.key: ec.EllipticCurvePublicKey = key

    def verifies(self, signature: bytes, data: bytes, algorithm: ec.ECDSA) -> bool:
        try:
            self.key.verify(signature, data, algorithm)
        except InvalidSignature:
            return False
        return True


def _canonical_hashedrekord(spec: Any) -> dict[str, Any]:
    algorithm = _field(spec, "data", "hash", "algorithm")
    value = _field(spec, "data", "hash", "value")
    if algorithm not in _HASHES:
        raise HttpError(400, f"unsupported hash algorithm {algorithm!r}")
    try:
        digest = bytes.fromhex(value)
    except (TypeError, ValueError) as exc:
        raise HttpError(400, "data.hash.value must be hex") from exc
    if len(digest) != _HASHES[algorithm].digest_size:
        raise HttpError(400, f"data.hash.value is not a {algorithm} digest")
    signature = _decode_b64(_field(spec, "signature", "content"), "signature.content")
    verifier = _Verifier(_field(spec, "signature", "publicKey", "content"))
    if not verifier.verifies(signature, digest, ec.ECDSA(utils.Prehashed(_HASHES[algorithm]))):
        raise HttpError(400, "signature does not verify against the proposed public key")
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": algorithm, "value": digest.hex()}},
            "signature": {"content": b64(signature), "publicKey": {"content": b64(verifier.canonical_pem)}},
        },
    }


def _pae(payload_type: str, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type.encode()), payload_type.encode(), len(payload), payload)


def _canonical_dsse(spec: Any) -> dict[str, Any]:
    raw_envelope = _field(spec, "proposedContent", "envelope")
    encoded_verifiers = _field(spec, "proposedContent", "verifiers")
    if not isinstance(raw_envelope, str) or not isinstance(encoded_verifiers, list) or not encoded_verifiers:
        raise HttpError(400, "dsse proposedContent needs an envelope string and at least one verifier")
    try:
        envelope = json.loads(raw_envelope)
    except ValueError as exc:
        raise HttpError(400, "the DSSE envelope is not JSON") from exc
    payload = _decode_b64(_field(envelope, "payload"), "envelope payload")
    payload_type = _field(envelope, "payloadType")
    signatures = _field(envelope, "signatures")
    if not isinstance(payload_type, str) or not isinstance(signatures, list) or not signatures:
        raise HttpError(400, "the DSSE envelope needs a payloadType and at least one signature")
    verifiers = [_Verifier(encoded) for encoded in encoded_verifiers]
    pae = _pae(payload_type, payload)

    entry_signatures = []
    for item in signatures:
        signature = _decode_b64(_field(item, "sig"), "envelope signature")
        matching = [v for v in verifiers if v.verifies(signature, pae, ec.ECDSA(hashes.SHA256()))]
        if not matching:
            raise HttpError(400, "an envelope signature does not verify against any proposed verifier")
        entry_signatures.append({"signature": b64(signature), "verifier": b64(matching[0].canonical_pem)})
    entry_signatures.sort(key=lambda s: s["signature"])
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            # Rekor hashes the envelope exactly as proposed: it is not canonical JSON.
            "envelopeHash": {
                "algorithm": "sha256",
                "value": hashlib.sha256(raw_envelope.encode()).hexdigest(),
            },
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": entry_signatures,
        },
    }


def canonicalize(proposed: Any) -> dict[str, Any]:
    """The body Rekor stores for a proposed entry (raises HttpError 400 when it is not acceptable)."""
    kind = _field(proposed, "kind")
    version = _field(proposed, "apiVersion")
    spec = _field(proposed, "spec")
    if version != "0.0.1":
        raise HttpError(400, f"unsupported {kind} API version {version!r}")
    if kind == "hashedrekord":
        return _canonical_hashedrekord(spec)
    if kind == "dsse":
        return _canonical_dsse(spec)
    raise HttpError(400, f"unsupported entry kind {kind!r}")


class RekorLog:
    """The log: keys, an append-only tree and the entries, plus the HTTP API over them."""

    def __init__(self) -> None:
        self.key = SigningKey()
        self.tree_id = secrets.randbits(63)
        self.origin = f"{LOG_NAME} - {self.tree_id}"
        self._tree = MerkleTree()
        self._entries: list[LogEntry] = []
        self._index_by_leaf: dict[bytes, int] = {}
        self._lock = threading.Lock()

    @property
    def log_id(self) -> bytes:
        return self.key.key_id

    @property
    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def add(self, proposed: Any) -> LogEntry:
        """Integrate a proposed entry; 409 if the same canonical entry is already logged."""
        body = canonicalize(proposed)
        canonical = rfc8785.dumps(body)
        leaf = leaf_hash(canonical)
        with self._lock:
            if leaf in self._index_by_leaf:
                raise HttpError(409, "an equivalent entry already exists in the transparency log")
            index = self._tree.append(canonical)
            integrated_time = int(time.time())
            promise: dict[str, str | int] = {
                "body": b64(canonical),
                "integratedTime": integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": index,
            }
            entry = LogEntry(
                log_index=index,
                uuid=f"{self.tree_id:016x}{leaf.hex()}",
                kind=body["kind"],
                api_version=body["apiVersion"],
                body=body,
                canonicalized_body=canonical,
                integrated_time=integrated_time,
                signed_entry_timestamp=self.key.sign(rfc8785.dumps(promise)),
            )
            self._entries.append(entry)
            self._index_by_leaf[leaf] = index
            return entry

    def checkpoint(self, size: int) -> str:
        """The signed note for the tree of `size` leaves (caller holds the lock)."""
        note = f"{self.origin}\n{size}\n{b64(self._tree.root(size))}\n"
        signature = self.key.sign(note.encode())
        return f"{note}\n\u2014 {LOG_NAME} {b64(self.log_id[:4] + signature)}\n"

    def _response(self, entry: LogEntry) -> dict[str, Any]:
        """The v1 API form `{uuid: entry}`, proven against the current tree (caller holds the lock)."""
        size = len(self._tree)
        return {
            entry.uuid: {
                "body": b64(entry.canonicalized_body),
                "integratedTime": entry.integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": entry.log_index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(size),
                        "hashes": [h.hex() for h in self._tree.inclusion_proof(entry.log_index, size)],
                        "logIndex": entry.log_index,
                        "rootHash": self._tree.root(size).hex(),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": b64(entry.signed_entry_timestamp),
                },
            }
        }

    def _by_uuid(self, uuid: str) -> LogEntry:
        try:
            if len(uuid) not in (64, 80):
                raise ValueError(uuid)
            leaf = bytes.fromhex(uuid[-64:])
        except ValueError as exc:
            raise HttpError(400, f"malformed entry UUID {uuid!r}") from exc
        index = self._index_by_leaf.get(leaf)
        if index is None or (len(uuid) == 80 and uuid[:16] != f"{self.tree_id:016x}"):
            raise HttpError(404, f"no entry with UUID {uuid}")
        return self._entries[index]

    def _by_index(self, raw: str) -> LogEntry:
        try:
            index = int(raw)
        except ValueError as exc:
            raise HttpError(400, f"malformed log index {raw!r}") from exc
        if not 0 <= index < len(self._entries):
            raise HttpError(404, f"no entry at log index {index}")
        return self._entries[index]

    def __call__(self, request: Request) -> Response:
        """The Rekor v1 REST API."""
        if not request.path.startswith(f"{API_PREFIX}/"):
            raise HttpError(404, f"no route for {request.method} {request.path}")
        path = request.path.removeprefix(API_PREFIX)
        if request.method == "POST" and path == "/log/entries":
            entry = self.add(request.json())
            with self._lock:
                payload = self._response(entry)
            return Response.json(payload, 201, {"Location": f"{API_PREFIX}/log/entries/{entry.uuid}"})
        if request.method == "POST" and path == "/log/entries/retrieve":
            return Response.json(self._retrieve(request.json()))
        if request.method == "GET" and path == "/log/entries" and "logIndex" in request.query:
            with self._lock:
                return Response.json(self._response(self._by_index(request.query["logIndex"][0])))
        if request.method == "GET" and path.startswith("/log/entries/"):
            with self._lock:
                return Response.json(self._response(self._by_uuid(path.removeprefix("/log/entries/"))))
        if request.method == "GET" and path == "/log":
            with self._lock:
                size = len(self._tree)
                return Response.json(
                    {
                        "rootHash": self._tree.root(size).hex(),
                        "treeSize": size,
                        "signedTreeHead": self.checkpoint(size),
                        "treeID": str(self.tree_id),
                        "inactiveShards": [],
                    }
                )
        raise HttpError(404, f"no route for {request.method} {request.path}")

    def _retrieve(self, query: Any) -> list[dict[str, Any]]:
        """Search by proposed entries: the logged entries whose canonical body matches one of them."""
        if not isinstance(query, dict):
            raise HttpError(400, "the search query must be a JSON object")
        uuids = query.get("entryUUIDs", [])
        proposed = query.get("entries", [])
        if not isinstance(uuids, list) or not isinstance(proposed, list):
            raise HttpError(400, "entries and entryUUIDs must be lists")
        leaves = [leaf_hash(rfc8785.dumps(canonicalize(p))) for p in proposed]
        with self._lock:
            found = [self._index_by_leaf[leaf] for leaf in leaves if leaf in self._index_by_leaf]
            for uuid in uuids:
                try:
                    found.append(self._by_uuid(str(uuid)).log_index)
                except HttpError:
                    continue
            return [self._response(self._entries[index]) for index in dict.fromkeys(found)]
