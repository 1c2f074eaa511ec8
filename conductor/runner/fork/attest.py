"""Committing an accepted step with its provenance: the statement, its digest in the commit's
`Conductor-Provenance` trailer, and — when an identity is available — a sigstore bundle.

The statement must name the commit, and the commit must name the statement. So the commit is
made twice with the same tree, parent, identities, time and message, once without the trailer
(the payload the statement names) and once with it (the commit that goes on the branch);
removing the trailer line from the second gives back exactly the first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conductor import __version__
from conductor.ledger.store import Ledger
from conductor.provenance import statement as statement_module

if TYPE_CHECKING:
    from conductor.provenance.signing import Signer


@dataclass
class Attested:
    commit: str
    statement: bytes
    digest: str
    bundle: str | None = None
    signed_by: str | None = None
    signing_error: str | None = None

    def event_data(self) -> dict[str, object]:
        return {
            "provenance": self.digest,
            "signed": self.bundle is not None,
            "signed_by": self.signed_by,
            "signing_error": self.signing_error,
        }


def commit(
    ledger: Ledger,
    *,
    tree: str,
    parent: str,
    message: str,
    author: tuple[str, str],
    committer: tuple[str, str],
    facts: Callable[[bytes], statement_module.StepFacts],
    signer: Signer | None,
) -> Attested:
    """Make the step's commit (not yet on the branch) and its provenance."""
    when = int(time.time())
    payload_id = ledger.create_commit(
        tree, parent=parent, message=message, author=author, committer=committer, when=when
    )
    payload = ledger.object_bytes(payload_id)
    statement = statement_module.build(facts(payload))
    digest = statement_module.digest(statement)
    final = ledger.create_commit(
        tree,
        parent=parent,
        message=f"{message}{statement_module.TRAILER}: {digest}\n",
        author=author,
        committer=committer,
        when=when,
    )
    if statement_module.strip_trailer(ledger.object_bytes(final)) != payload:
        raise AssertionError("the commit without its provenance trailer is not the payload it names")
    attested = Attested(final, statement, digest)
    if signer is not None:
        from conductor.provenance.signing import SigningError

        try:
            attested.bundle, attested.signed_by = signer.sign(statement)
        except SigningError as exc:
            attested.signing_error = exc.message
    return attested


def version() -> str:
    return __version__
