"""The on-disk format version of ledger records, and the check every reader makes.

History (also in docs/storage.md):
  1 — first format: one commit per event, trailers in the message, handoff layout in the tree.
"""

from __future__ import annotations

from conductor.errors import LedgerFormatError

FORMAT_VERSION = 1
FORMAT_FILE = "format-version"


def encode() -> bytes:
    return f"{FORMAT_VERSION}\n".encode()


def check(raw: bytes | None, *, where: str) -> int:
    """Return the version in `raw`, refusing anything this Conductor cannot read."""
    if raw is None:
        raise LedgerFormatError(
            f"{where} has no {FORMAT_FILE} entry: it was not written by Conductor",
            hint="check that the ref is a Conductor log (conductor events lists them)",
        )
    text = raw.decode("ascii", "replace").strip()
    if not text.isdigit():
        raise LedgerFormatError(f"{where}: unreadable {FORMAT_FILE} '{text[:20]}'")
    version = int(text)
    if version > FORMAT_VERSION:
        raise LedgerFormatError(
            f"{where} was written in ledger format {version}; this Conductor reads format {FORMAT_VERSION}",
            hint="upgrade Conductor (install git-conductor again from a newer clone of its repository)"
            " to read it",
        )
    if version < FORMAT_VERSION:
        raise LedgerFormatError(
            f"{where} uses the old ledger format {version}; this Conductor reads format {FORMAT_VERSION}",
            hint="migrate the ledger with the Conductor release notes' migration steps",
        )
    return version
