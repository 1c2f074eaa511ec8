"""The checks of one accepted step (`conductor verify`): its records, statement, commit and
signature still agree — and what exactly does not.

Per step (the attempt that was accepted), first the statement is read: its type and predicate
type must be the ones this Conductor verifies (…/step/v1), else the step fails there. Then the
checks of STEP_CHECKS, each a small function run in this order and reported under its name:
  task       the task file's checksum over its recorded bytes (task.record_digest: no model is
             involved, so a field added to TaskFile later changes nothing) = its `checksum`
             field = the one recorded when it was handed out (task.created); a task file of a
             format this Conductor does not know fails
  records    each statement subject's sha256 = the record in the fork log now
  evidence   each evidence digest in the predicate = the evidence record now
  policy     the effective-policy digest = evidence/<step>/policy.json now
  statement  the predicate names this plan, fork, step and attempt
  trailer    the commit's Conductor-Provenance = sha256 of the recorded statement
  commit     the code commit minus its Conductor-Provenance line = the payload the statement
             names (sha256 and git id), with the same tree and parent; its trailers name this
             plan, fork and step; the fork branch contains it
  signature  the sigstore bundle verifies against the trust root and the identity policy, and
             signs exactly this statement (unsigned steps are reported, and fail when an
             identity is required)

Records are read as the untrusted reader reads an executor's files (bounded, strict JSON): a
crafted record is a failed check, never a crash.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conductor.ledger import refs
from conductor.ledger.snapshot import Snapshot
from conductor.ledger.store import Ledger
from conductor.models import untrusted
from conductor.models.event import Event, EventType
from conductor.models.layout import BUNDLE, COMPLETED, PROVENANCE, TASK, StepPaths
from conductor.models.task import TASK_FORMAT, TASK_LIMIT, canonical_checksum
from conductor.provenance import statement as statement_module
from conductor.report import plural

if TYPE_CHECKING:
    from conductor.provenance.signing import TrustConfig


STATEMENT_LIMIT = 4 * 1024 * 1024  # bytes of a recorded statement (a few KiB)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    state: str | None = None  # a branch check's: branch, pruned, adopted or missing (branches.py)


@dataclass
class StepReport:
    plan: str
    fork: str
    step: str
    attempt: int | None
    checks: list[Check] = field(default_factory=list)
    signed: bool = False

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))


@dataclass
class Options:
    identity: str | None = None
    issuer: str | None = None
    trust: TrustConfig | None = None  # loaded only when a bundle is checked
    trust_path: str | None = None
    require_signature: bool = False
    allow_reviewer_commits: bool = False  # commits on top of the last accepted step are listed, not failed


def accepted_steps(events: list[Event]) -> list[str]:
    """The steps of a fork with an accepted attempt, in the order they were accepted."""
    seen: dict[str, None] = {}
    for event in events:
        if event.type is EventType.TASK_COMPLETED and event.step:
            seen.setdefault(event.step)
    return list(seen)


@dataclass
class Accepted:
    """What the checks of one accepted step read: its records at the fork log's tip, its
    statement, and (`commit`) the code commit it names."""

    ledger: Ledger
    tip: Snapshot
    events: list[Event]
    accepted: Event  # the task.completed of the accepted attempt
    raw_statement: bytes
    predicate: dict[str, Any]
    subjects: dict[str, str]  # name -> sha256
    options: Options
    within: tuple[str, str] | None  # (what, commit) holding the step's commit, else the fork branch
    signed: bool = False  # set by the signature check: a bundle is recorded

    @property
    def plan(self) -> str:
        return self.tip.event.plan

    @property
    def fork(self) -> str:
        return str(self.tip.event.fork)

    @property
    def step(self) -> str:
        return str(self.accepted.step)

    @property
    def paths(self) -> StepPaths:
        return StepPaths(self.step)

    @property
    def commit_id(self) -> str:
        return str(self.accepted.data.get("commit"))

    @functools.cached_property
    def commit(self) -> bytes | None:
        """The code commit's raw bytes; None when the repository does not have it."""
        try:
            return self.ledger.object_bytes(self.commit_id)
        except (KeyError, ValueError):
            return None


Found = tuple[bool, str]
"""One result of a check: whether it holds, and what was found."""
StepCheck = Callable[[Accepted], list[Found]]


def verify_step(
    ledger: Ledger,
    tip: Snapshot,
    events: list[Event],
    step: str,
    options: Options,
    *,
    within: tuple[str, str] | None = None,
) -> StepReport:
    """One accepted step of the fork whose log ends at `tip` with `events`; its commit must be
    on the fork's branch, or, with `within` (what, commit), in that commit's history (a step
    another plan inherits: the base of the plan made from it). Each check of STEP_CHECKS runs
    in order, its results reported under its name."""
    plan, fork = tip.event.plan, str(tip.event.fork)
    completed = [e for e in events if e.type is EventType.TASK_COMPLETED and e.step == step]
    report = StepReport(plan, fork, step, completed[-1].attempt if completed else None)
    if not completed:
        report.add("accepted", False, "no accepted attempt is recorded")
        return report
    path = StepPaths(step).record(COMPLETED, PROVENANCE)
    raw_statement = tip.read(path)
    if raw_statement is None:
        report.add("statement", False, f"{path} is missing")
        return report
    try:
        predicate, subjects = read_statement(raw_statement)
    except ValueError as exc:
        report.add("statement", False, f"the statement cannot be read: {exc}")
        return report
    accepted = Accepted(
        ledger, tip, events, completed[-1], raw_statement, predicate, subjects, options, within
    )
    for name, check in STEP_CHECKS:
        for ok, detail in check(accepted):
            report.add(name, ok, detail)
    report.signed = accepted.signed
    return report


def _task(step: Accepted) -> list[Found]:
    """The task file, its field, and the checksum recorded when it was handed out."""
    created = next(
        (
            e
            for e in step.events
            if e.type is EventType.TASK_CREATED and e.step == step.step and e.attempt == step.accepted.attempt
        ),
        None,
    )
    handed = str(created.data.get("checksum")) if created else None
    raw = step.tip.read(step.paths.record(COMPLETED, TASK))
    return [check_task(raw, handed, _get(step.predicate, "task", "checksum"))]


def _records(step: Accepted) -> list[Found]:
    """Each record the statement names, as it is in the fork log now."""
    found = []
    for name, wanted in sorted(step.subjects.items()):
        if name.startswith("git-commit-payload:"):
            continue
        data = step.tip.read(name)
        digest = statement_module.sha256(data) if data is not None else None
        found.append(
            (
                digest == wanted,
                f"{name} matches"
                if digest == wanted
                else f"{name}: sha256 {_short(digest)} ≠ statement {_short(wanted)}",
            )
        )
    return found


def _evidence(step: Accepted) -> list[Found]:
    """The evidence the predicate names (the verdict, command logs)."""
    named = _strings(step.predicate.get("evidence"))
    evidence = named or {}
    changed = [
        path
        for path, wanted in sorted(evidence.items())
        if (data := step.tip.read(path)) is None or "sha256:" + statement_module.sha256(data) != wanted
    ]
    if named is None:
        changed.append("(the statement's evidence is not a map of paths to digests)")
    if changed:
        return [(False, f"changed or missing: {', '.join(changed)}")]
    return [(True, f"{plural(len(evidence), 'evidence record')} match")]


def _policy(step: Accepted) -> list[Found]:
    """The effective policy the step ran under, as the statement digested it."""
    policy = step.tip.read(step.paths.policy)
    wanted = _get(step.predicate, "policy", "digest")
    found = "sha256:" + statement_module.sha256(policy) if policy is not None else None
    if found == wanted:
        return [(True, "the effective policy matches")]
    return [(False, f"{step.paths.policy}: {_short(found)} ≠ statement {_short(wanted)}")]


def _about_this_step(step: Accepted) -> list[Found]:
    """The statement names this plan, fork, step and attempt."""
    predicate = step.predicate
    where = (predicate.get("plan"), predicate.get("fork"), predicate.get("step"), predicate.get("attempt"))
    expected = (step.plan, step.fork, step.step, step.accepted.attempt)
    if where == expected:
        return [(True, "names this plan, fork, step and attempt")]
    return [(False, f"names {'/'.join(map(str, where))}, not {'/'.join(map(str, expected))}")]


def _trailer(step: Accepted) -> list[Found]:
    """The commit's Conductor-Provenance is the statement's digest (nothing to read without
    the commit: the commit check says it is missing)."""
    if step.commit is None:
        return []
    found = _trailers(step.commit).get(statement_module.TRAILER)
    digest = statement_module.digest(step.raw_statement)
    if found == digest:
        return [(True, "Conductor-Provenance matches the statement")]
    return [(False, f"Conductor-Provenance {found} ≠ statement {digest}")]


def _commit(step: Accepted) -> list[Found]:
    """The code commit: its payload, tree, parent and trailers are the statement's, and the
    fork branch (or `within`) holds it."""
    raw_commit, commit_id = step.commit, step.commit_id
    if raw_commit is None:
        return [(False, f"the code commit {commit_id[:12]} is missing")]
    predicate, plan, fork = step.predicate, step.plan, step.fork
    payload = statement_module.strip_trailer(raw_commit)
    payload_subject = next((v for k, v in step.subjects.items() if k.startswith("git-commit-payload:")), None)
    commit_info = {key: _get(predicate, "commit", key) for key in ("payload_id", "tree", "parent")}
    problems = []
    if statement_module.sha256(payload) != payload_subject:
        problems.append("the commit (without its provenance line) is not the one the statement names")
    if statement_module.git_object_id("commit", payload) != commit_info.get("payload_id"):
        problems.append("the commit payload's git id differs from the statement's")
    header = _headers(raw_commit)
    if header.get("tree") != commit_info.get("tree") or header.get("parent") != commit_info.get("parent"):
        problems.append("tree or parent differ from the statement's")
    trailers = _trailers(raw_commit)
    named = (trailers.get("Conductor-Plan"), trailers.get("Conductor-Fork"), trailers.get("Conductor-Step"))
    if named != (plan, fork, step.step):
        problems.append("the commit's trailers name another step")
    branch = refs.short_branch(plan, fork)
    ledger = step.ledger
    name, holder = step.within or (f"the branch {branch}", ledger.points_at(refs.code_branch(plan, fork)))
    if holder is None or not ledger.is_ancestor(commit_id, holder):
        problems.append(f"{name} does not contain it")
    shown = f"{commit_id[:12]} in {name}" if step.within else f"{commit_id[:12]} on {branch}"
    return [(not problems, shown if not problems else "; ".join(problems))]


def _signature(step: Accepted) -> list[Found]:
    """The sigstore bundle verifies and signs exactly this statement (unsigned: reported, and a
    failure when an identity is required)."""
    options = step.options
    bundle = step.tip.read(step.paths.record(COMPLETED, BUNDLE))
    if bundle is None:
        required = options.require_signature
        return [(not required, "unsigned (an identity is required)" if required else "unsigned")]
    step.signed = True
    from conductor.provenance.signing import BundleError, trust_config, verify_bundle

    if options.trust is None:
        options.trust = trust_config(options.trust_path, offline=True)
    try:
        signer = verify_bundle(
            bundle, step.raw_statement, trust=options.trust, identity=options.identity, issuer=options.issuer
        )
    except BundleError as exc:
        return [(False, exc.message)]
    if options.identity and options.issuer:
        return [(True, f"signed by {signer} ({options.issuer})")]
    return [(True, f"valid signature by {signer}; identity not checked (--identity, --issuer)")]


STEP_CHECKS: tuple[tuple[str, StepCheck], ...] = (
    ("task", _task),
    ("records", _records),
    ("evidence", _evidence),
    ("policy", _policy),
    ("statement", _about_this_step),
    ("trailer", _trailer),
    ("commit", _commit),
    ("signature", _signature),
)
"""The checks of one accepted step, in the order they run and are reported (the module's
docstring says what each holds); a check added here runs, and `conductor verify` reports it."""


def read_statement(raw: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """The predicate and the subjects (name -> sha256) of a recorded statement, read within the
    untrusted reader's bounds; its `_type` and `predicateType` carry its format, and only the
    ones this Conductor writes are verified. ValueError saying what is wrong."""
    statement = untrusted.load_object(raw, name="the statement", limit=STATEMENT_LIMIT)
    kinds = (statement.get("_type"), statement.get("predicateType"))
    if kinds != (statement_module.STATEMENT_TYPE, statement_module.PREDICATE_TYPE):
        raise ValueError(
            f"its type is {untrusted.shown(kinds[0])} with predicate {untrusted.shown(kinds[1])}; this"
            f" Conductor verifies {statement_module.PREDICATE_TYPE} (a newer format needs a newer Conductor)"
        )
    predicate, subject = statement.get("predicate"), statement.get("subject")
    if not isinstance(predicate, dict) or not isinstance(subject, list):
        raise ValueError("it has no predicate object or no subject list")
    subjects: dict[str, str] = {}
    for entry in subject:
        name, digest = _get(entry, "name"), _get(entry, "digest", "sha256")
        if not isinstance(name, str) or not isinstance(digest, str):
            raise ValueError(f"a subject without a name and a sha256 digest: {untrusted.shown(entry)}")
        subjects[name] = digest
    return predicate, subjects


def check_task(raw: bytes | None, handed: str | None, stated: Any) -> Found:
    """The `task` check: the recorded task file's checksum over its bytes (task.record_digest,
    whatever fields it has) = its `checksum` field = `handed` (task.created) = `stated` (the
    statement's). A task file of a format this Conductor does not know fails."""
    try:
        record = untrusted.load_object(raw or b"", name="the task file", limit=TASK_LIMIT)
    except ValueError as exc:
        return False, f"the task file cannot be read: {exc}"
    version = record.get("format", 1)  # absent: written before tasks carried it, format 1
    if type(version) is not int or not 1 <= version <= TASK_FORMAT:
        return (
            False,
            f"task file format {untrusted.shown(version)}: this Conductor verifies format {TASK_FORMAT}"
            " (a newer format needs a newer Conductor)",
        )
    computed, recorded = canonical_checksum(record), record.get("checksum")
    if computed == recorded == handed == stated:
        return True, f"checksum {computed[:19]}…"
    return False, f"task checksum {computed} ≠ recorded {handed} (field {untrusted.shown(recorded)})"


def _get(value: Any, *keys: str) -> Any:
    """value[k1][k2]…, or None where a level is missing or not an object."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _strings(value: Any) -> dict[str, str] | None:
    """`value` when it is an object of strings (an empty one when absent), else None."""
    if value is None:
        return {}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return value
    return None


def _short(digest: str | None) -> str:
    return f"{digest[:16]}…" if digest else "missing"


def _headers(raw_commit: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw_commit.split(b"\n\n", 1)[0].decode("utf-8", "replace").split("\n"):
        key, _, value = line.partition(" ")
        out.setdefault(key, value)
    return out


def _trailers(raw_commit: bytes) -> dict[str, str]:
    body = raw_commit.split(b"\n\n", 1)[-1].decode("utf-8", "replace")
    out = {}
    for line in body.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.startswith("Conductor-"):
            out[key] = value
    return out
