"""The record layout: where each record lives in a plan log's tree, a fork log's tree and the
handoff mailbox. This module is the one place that spells those paths; the tables in
docs/storage.md are checked against it (tests/models/test_layout.py).

A fork log's tree is the handoff layout (docs/protocol.md): a step's task, result and explanation move
through `pending/`, `in_progress/`, `completed/` and `failed/`; what each attempt leaves
behind is kept under `evidence/<step>/attempt_<N>/`, its model calls under `llm/`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# The handoff directories, in the fork log's tree and in the mailbox.
PENDING = "pending"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"
DIRS = (PENDING, IN_PROGRESS, COMPLETED, FAILED)
OPEN_DIRS = (PENDING, IN_PROGRESS)  # where a task waits or is worked on
RESULT_DIRS = (COMPLETED, FAILED)  # where an executor puts its result

# The suffixes of a step's records: `step_001.task.json` and so on.
TASK = ".task.json"
RESULT = ".result.json"
EXPLANATION = ".explanation.md"
PROVENANCE = ".provenance.json"  # the in-toto statement of an accepted step
BUNDLE = ".provenance.sigstore.json"  # its sigstore bundle, when signed
WORKER = ".worker.json"  # mailbox only: the process the command executor started
PROBLEMS = ".result.problems.txt"  # mailbox only: why the result file beside it was refused
HANDED = (TASK, RESULT, EXPLANATION)  # the records that move with a step between directories
FILED = (*HANDED, PROVENANCE, BUNDLE)  # a finished step's records, as the mailbox shows them

# Files at the top of a log's tree.
PLAN_FILE = "plan.json"  # plan log: goal, strategies, source, base commit
PLAN_POLICY = "policy.json"  # plan log: the effective project policy with origins
COMPARISON_FILE = "comparison.json"  # plan log: its forks compared, the one recommended
FORK_FILE = "fork.json"  # fork log: id, strategy, branch, base, planned steps
STATE_FILE = "state.json"  # fork log: the fork's state folded up to this commit's event
STATE_DIR = "state"  # fork log: each step's folded state, `state/<step>.json`
EVIDENCE = "evidence"
LLM = "llm"

# The metrics log's tree (refs/conductor/metrics: the handoff metrics folded so far).
TALLY_FILE = "tally.json"  # the totals over every fork log folded
TALLY_DURATIONS = "durations"  # `durations/<second>.json`: the milliseconds of the tasks of that second
TALLY_FORKS = "forks"  # `forks/<xx>/<plan>/<fork>.json`: how far each fork log was folded, what it owes


def tally_duration(second: int) -> str:
    return f"{TALLY_DURATIONS}/{second}.json"


def tally_fork(plan: str, fork: str) -> str:
    """Filed under two hex digits of the plan's digest, so that no tree a run rewrites grows
    with the number of plans (as git fans out its objects)."""
    fan = hashlib.sha256(plan.encode("utf-8")).hexdigest()[:2]
    return f"{TALLY_FORKS}/{fan}/{plan}/{fork}.json"


# The trees of the work queue's commits (refs/conductor/work/…, docs/workers.md).
QUEUE_TASK = "task.json"
QUEUE_WORKER = "worker.json"
QUEUE_RESULT = "result.json"
QUEUE_EXPLANATION = "explanation.md"


def llm_folder(scope: str) -> str:
    """Where the model calls of one scope are filed, as `001.json`, `002.json`…"""
    return f"{LLM}/{scope}"


@dataclass(frozen=True, slots=True)
class StepPaths:
    """Every path of one step's records."""

    step: str

    def record(self, directory: str, suffix: str) -> str:
        """`<directory>/<step><suffix>`, e.g. `completed/step_001.result.json`."""
        return f"{directory}/{self.step}{suffix}"

    @property
    def evidence(self) -> str:
        return f"{EVIDENCE}/{self.step}"

    @property
    def state(self) -> str:
        """The step's folded state, beside the fork's `state.json`."""
        return f"{STATE_DIR}/{self.step}.json"

    @property
    def policy(self) -> str:
        """The effective policy the step ran under, with origins."""
        return f"{self.evidence}/policy.json"

    @property
    def assessment(self) -> str:
        """The confidence assessment that asked for approval, before any attempt."""
        return f"{self.evidence}/confidence.json"

    def attempt(self, number: int) -> AttemptPaths:
        return AttemptPaths(self.step, number)


@dataclass(frozen=True, slots=True)
class AttemptPaths:
    """The evidence and model calls of one attempt of a step."""

    step: str
    number: int

    @property
    def evidence(self) -> str:
        return f"{EVIDENCE}/{self.step}/attempt_{self.number}"

    @property
    def verdict(self) -> str:
        """Accepted or rejected, the checks, the files, the verify commands."""
        return f"{self.evidence}/verdict.json"

    @property
    def confidence(self) -> str:
        return f"{self.evidence}/confidence.json"

    @property
    def patch(self) -> str:
        """The change of a rejected attempt, as `git apply` takes it."""
        return f"{self.evidence}/rejected.patch"

    def verify_log(self, index: int) -> str:
        """The output of the index-th (from 1) verify command."""
        return f"{self.evidence}/verify-{index}.log"

    def output(self, stream: str) -> str:
        """The end of what the executor's process printed on `stream` (stdout, stderr)."""
        return f"{self.evidence}/{stream}.log"

    def kept(self, suffix: str) -> str:
        """A failed attempt's own task, result or explanation (`task.json`…)."""
        return f"{self.evidence}/{suffix.lstrip('.')}"

    def late(self, suffix: str) -> str:
        """A result that came back after its attempt was over (`late.result.json`…)."""
        return f"{self.evidence}/late{suffix}"

    def refused(self, number: int) -> str:
        """The number-th malformed result of this attempt, refused while it went on."""
        return f"{self.evidence}/refused-{number}{RESULT}"

    @property
    def llm(self) -> str:
        """The folder of the model calls this attempt made."""
        return llm_folder(f"{self.step}/attempt_{self.number}")
