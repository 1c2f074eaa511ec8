"""The in-toto Statement v1 recorded for every accepted step.

Subjects are sha256 digests (sigstore accepts only sha256/384/512 and sha3): the task, result
and explanation records, and the code commit. The commit carries the statement's digest in
its `Conductor-Provenance` trailer, so the statement cannot name the final commit: its
subject is the commit object *without* that trailer line (the "commit payload"), and the
predicate holds the payload's git id. `conductor verify` removes the trailer from the real
commit and checks that exactly that payload remains.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://conductor.invalid/attestations/step/v1"
TRAILER = "Conductor-Provenance"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_object_id(kind: str, body: bytes) -> str:
    """The id git gives an object of `kind` with content `body` (sha1)."""
    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body, usedforsecurity=False).hexdigest()


def strip_trailer(commit_body: bytes) -> bytes:
    """A commit object's content with its Conductor-Provenance trailer line removed."""
    lines = commit_body.split(b"\n")
    kept = [line for line in lines if not line.startswith(TRAILER.encode() + b": ")]
    return b"\n".join(kept)


@dataclass(frozen=True)
class StepFacts:
    """What a statement says about one accepted step."""

    plan: str
    fork: str
    step: str
    attempt: int
    records: dict[str, bytes]  # ledger path -> content (task, result, explanation)
    commit_payload: bytes  # the code commit object without the provenance trailer
    tree: str
    parent: str
    task_checksum: str
    policy: bytes  # the effective policy (JSON) the step ran under
    evidence: dict[str, bytes]  # ledger path -> content (verdict, verify logs)
    executor: dict[str, Any]
    model: dict[str, Any] | None
    confidence: dict[str, Any]
    times: dict[str, str]
    conductor_version: str


def build(facts: StepFacts) -> bytes:
    """The statement as canonical JSON bytes (what is signed, stored and digested)."""
    subjects = [
        {"name": path, "digest": {"sha256": sha256(data)}} for path, data in sorted(facts.records.items())
    ]
    subjects.append(
        {
            "name": f"git-commit-payload:{facts.plan}/{facts.fork}/{facts.step}",
            "digest": {"sha256": sha256(facts.commit_payload)},
        }
    )
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "plan": facts.plan,
            "fork": facts.fork,
            "step": facts.step,
            "attempt": facts.attempt,
            "task": {"checksum": facts.task_checksum},
            "policy": {"digest": "sha256:" + sha256(facts.policy)},
            "evidence": {path: "sha256:" + sha256(data) for path, data in sorted(facts.evidence.items())},
            "commit": {
                "payload_id": git_object_id("commit", facts.commit_payload),
                "tree": facts.tree,
                "parent": facts.parent,
            },
            "executor": facts.executor,
            "model": facts.model,
            "confidence": facts.confidence,
            "timestamps": facts.times,
            "builder": {"id": "conductor", "version": facts.conductor_version},
        },
    }
    return canonical(statement)


def canonical(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def digest(statement: bytes) -> str:
    """What the code commit's trailer carries."""
    return "sha256:" + sha256(statement)
