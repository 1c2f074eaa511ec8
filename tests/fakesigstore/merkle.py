"""An append-only RFC 6962 Merkle tree with inclusion proofs (the hashing Rekor and sigstore use).

leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right); the tree over n leaves
splits at the largest power of two below n. Proofs list sibling hashes from the leaf up to the root.
"""

from __future__ import annotations

import hashlib


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _root(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root(hashes[:k]), _root(hashes[k:]))


def _path(index: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 6962 PATH(m, D[n]): the audit path of leaf `index`, lowest level first."""
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _root(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root(hashes[:k])]


class MerkleTree:
    """Leaf hashes in log order; roots and proofs for any tree size up to the current one."""

    def __init__(self) -> None:
        self._leaves: list[bytes] = []

    def __len__(self) -> int:
        return len(self._leaves)

    def append(self, leaf: bytes) -> int:
        """Add a leaf (the raw entry bytes) and return its index."""
        self._leaves.append(leaf_hash(leaf))
        return len(self._leaves) - 1

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first `size` leaves (default: all); the empty tree hashes to SHA-256('')."""
        size = len(self._leaves) if size is None else size
        self._check_size(size)
        if size == 0:
            return hashlib.sha256(b"").digest()
        return _root(self._leaves[:size])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path proving leaf `index` is in the tree of the first `size` leaves."""
        size = len(self._leaves) if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is not in a tree of size {size}")
        return _path(index, self._leaves[:size])

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= len(self._leaves):
            raise ValueError(f"tree size {size} is out of range (the log has {len(self._leaves)} leaves)")
