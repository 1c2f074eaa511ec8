"""The LLM planner: a goal and a bounded view of the repository become strategies of steps.

The planner sees the file list (first 300 paths), the start of the README, the policy
(protected patterns, constraints, limits) and the repository's conventions (AGENTS.md files,
quoted below the policy: docs/conventions.md). A step that lists a protected file is sent back
with the reason — once — rather than silently fixed; a second offence is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.llm import conventions
from conductor.llm.answers import PlanAnswer, PlannedStrategy, answer_schema, label, plan_problems
from conductor.llm.caller import Answer, Caller
from conductor.llm.provider import LLMError, LLMRequest
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec, is_valid_id
from conductor.policy.effective import ConventionRules, EffectivePolicy

MAX_FILES = 300
README_CHARS = 2000
WILDCARDS = set("*?[")
STRATEGY_CHARS = 500
MAX_CONVENTION_DIRS = 20

SYSTEM = """\
You are the planner of Conductor, which hands each step of a plan to a coding agent and checks
the result against a policy. Plan small, verifiable steps. For every step give the exact
repository-relative files it may change (allowed_files: no wildcards unless unavoidable), an
instruction precise enough for an agent that sees only the step, and verify commands that prove
it (for Python, tests run with `python -m pytest -q`). Never list a protected file. Answer with
JSON matching the schema, nothing else."""


def entries(root: Path, base: str, paths: list[str]) -> dict[str, tuple[int, str, int]]:
    """Each of `paths` that is a blob at `base`: (mode, object id, size)."""
    if not paths:
        return {}
    literal = {"GIT_LITERAL_PATHSPECS": "1"}
    listed = git(["ls-tree", "-z", "-l", base, "--", *paths], cwd=root, env=literal)
    found = {}
    for entry in listed.decode("utf-8", "replace").split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        if path and len(fields) == 4 and fields[1] == "blob":
            found[path] = (int(fields[0], 8), fields[2], int(fields[3]))
    return found


def blobs(root: Path, oids: list[str]) -> dict[str, bytes]:
    """The content of each blob, read with one `git cat-file --batch`."""
    if not oids:
        return {}
    out = git(["cat-file", "--batch"], cwd=root, stdin="".join(f"{oid}\n" for oid in oids).encode())
    found, at = {}, 0
    for oid in oids:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        found[oid] = out[header_end + 1 : header_end + 1 + size]
        at = header_end + 1 + size + 1
    return found


def conventions_text(root: Path, base: str, files: list[str], rules: ConventionRules) -> str:
    """The repository's conventions as the planner reads them: every directory's convention file
    at `base`, the root's first and the shallowest next, within the caps (the root's gets the
    budget first); past MAX_CONVENTION_DIRS directories, only how many more there are."""
    if not rules.enabled:
        return ""
    named = [path for path in files if path.rpartition("/")[2] in rules.files]
    dirs = conventions.nearest_last(path.rpartition("/")[0] for path in named)
    shown = dirs[:MAX_CONVENTION_DIRS]
    listed = entries(root, base, [path for path in named if path.rpartition("/")[0] in shown])
    oids = {path: oid for path, (mode, oid, size) in listed.items() if conventions.readable(mode, size)}
    content = blobs(root, sorted(set(oids.values())))
    found = conventions.find(lambda path: content.get(oids.get(path, "")), shown, rules.files)
    quoted = conventions.quoted(conventions.capped(found, rules, nearest_first=False), where="at the base")
    if not quoted:
        return ""
    more = len(dirs) - len(shown)
    rest = f"\n\n({more} more directories have conventions: each step is given those of its files.)"
    return (
        "The repository's conventions: plan steps that follow them, and say in a step's instruction"
        f" the ones it must keep. {quoted}" + (rest if more > 0 else "") + "\n"
    )


def repo_context(root: Path, policy: EffectivePolicy, base: str = "HEAD") -> str:
    """What the planner may know of the repository at commit `base`, bounded in size: its files,
    its README, the policy, and its conventions (docs/conventions.md)."""
    try:
        listed = git(["ls-tree", "-r", "-z", "--name-only", base], cwd=root)
        files = listed.decode("utf-8", "replace").split("\0")
    except ConductorError:
        files = []
    files = [f for f in files if f]
    shown = "\n".join(files[:MAX_FILES]) or "(no files yet)"
    more = f"\n... and {len(files) - MAX_FILES} more" if len(files) > MAX_FILES else ""
    readme = ""
    for name in ("README.md", "README.rst", "README.txt", "README"):
        if name in files:
            try:
                text = git(["cat-file", "blob", f"{base}:{name}"], cwd=root)
            except ConductorError:
                continue
            readme = text[: README_CHARS * 4].decode("utf-8", "replace")[:README_CHARS]
            break
    protected = ", ".join(p.text for p in policy.protected.patterns) or "none"
    constraints = "\n".join(f"- {c}" for c in policy.global_constraints) or "- none"
    conventions_part = conventions_text(root, base, files, policy.conventions)
    return (
        f"Repository files:\n{shown}{more}\n\n"
        f"README (start):\n{readme or '(none)'}\n\n"
        f"Policy:\n- protected patterns (never allow these): {protected}\n"
        f"- each step may change at most {policy.max_diff_lines} lines\n"
        f"- constraints:\n{constraints}\n" + (f"\n{conventions_part}" if conventions_part else "")
    )


def protected_problems(answer: PlanAnswer, policy: EffectivePolicy) -> list[str]:
    """Every step that lists a protected file, said so the planner can fix it."""
    problems = []
    for strategy in answer.strategies:
        for number, step in enumerate(strategy.steps, start=1):
            for path in step.allowed_files:
                if WILDCARDS & set(path):
                    continue
                hit = policy.protected.check(path)
                if hit is not None:
                    problems.append(
                        f"strategy '{strategy.id}' step {number} ('{step.title}') allows '{path}', which the"
                        f" policy protects ('{hit.pattern}'): remove it from allowed_files"
                    )
    return problems


def unique_id(raw: str, taken: set[str]) -> str:
    """A fork id from a label as the model wrote it ("Approach 3" → "approach-3"), unique
    among `taken` (which it joins)."""
    base = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:40].strip("-")
    if not base or not is_valid_id(base):
        base = f"strategy-{base}".strip("-")[:40].strip("-")
    candidate, n = base, 2
    while candidate in taken or not is_valid_id(candidate):
        candidate = f"{base[:36]}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def to_forks(strategies: list[PlannedStrategy], taken: set[str] | None = None) -> list[ForkSpec]:
    used = set(taken or ())
    forks = []
    for strategy in strategies:
        steps = [
            StepSpec(
                title=s.title,
                instruction=s.instruction,
                allowed_files=list(s.allowed_files),
                verify=list(s.verify),
                confidence=s.confidence,
                expected_lines=s.expected_lines,
            )
            for s in strategy.steps
        ]
        text = label(strategy.strategy, limit=STRATEGY_CHARS) or label(strategy.id) or "A strategy"
        forks.append(ForkSpec(id=unique_id(strategy.id, used), strategy=text, steps=steps))
    return forks


class LLMPlanner:
    def __init__(self, caller: Caller, *, root: Path, policy: EffectivePolicy, base: str = "HEAD") -> None:
        self.base = base
        self.caller = caller
        self.root = root
        self.policy = policy
        self.answers: list[Answer] = []

    def _ask(self, prompt: str, scope: str) -> PlanAnswer:
        request = LLMRequest(
            purpose="plan",
            system=SYSTEM,
            prompt=prompt,
            schema_name="PlanAnswer",
            schema=answer_schema(PlanAnswer),
            scope=scope,
        )
        answer = self.caller.ask(request, PlanAnswer, plan_problems)
        self.answers.append(answer)
        plan: PlanAnswer = answer.value
        problems = protected_problems(plan, self.policy)
        if not problems:
            return plan
        retry = LLMRequest(
            purpose="plan",
            system=SYSTEM,
            prompt=f"{prompt}\n\nYour plan was sent back:\n" + "\n".join(f"- {p}" for p in problems),
            schema_name="PlanAnswer",
            schema=request.schema,
            scope=scope,
        )
        answer = self.caller.ask(retry, PlanAnswer, plan_problems)
        self.answers.append(answer)
        plan = answer.value
        problems = protected_problems(plan, self.policy)
        if problems:
            raise LLMError(
                "the planner kept listing protected files: " + "; ".join(problems),
                hint="write the plan yourself (--plan FILE), or adjust the policy",
            )
        return plan

    def plan(self, goal: str, *, forks: int = 1, strategies: list[str] | None = None) -> PlanSpec:
        context = repo_context(self.root, self.policy, self.base)
        if strategies:
            listed = "\n".join(f"{i}. {s}" for i, s in enumerate(strategies, start=1))
            ask = f"Plan one strategy for each of these approaches, in this order:\n{listed}"
        elif forks == 1:
            ask = "Plan one strategy."
        else:
            ask = f"Plan {forks} genuinely different strategies (different designs, not variations)."
        prompt = f"Goal: {goal}\n\n{ask}\n\n{context}"
        answer = self._ask(prompt, "plan")
        chosen = answer.strategies[: len(strategies) if strategies else forks]
        if strategies:  # the user's words describe the strategies
            chosen = [
                s.model_copy(update={"strategy": text}) for s, text in zip(chosen, strategies, strict=False)
            ]
        return PlanSpec(goal=goal, forks=to_forks(chosen))

    def alternative(
        self, goal: str, failed: list[tuple[str, str]], *, taken: set[str], number: int
    ) -> ForkSpec:
        """A new strategy after others failed (dynamic forking)."""
        tried = "\n".join(f"- {strategy}: failed because {reason}" for strategy, reason in failed)
        context = repo_context(self.root, self.policy, self.base)
        prompt = (
            f"Goal: {goal}\n\nThese strategies were tried and failed:\n{tried}\n\n"
            f"Plan one different strategy that avoids these failures.\n\n{context}"
        )
        answer = self._ask(prompt, f"spawn/{number}")
        return to_forks(answer.strategies[:1], taken)[0]
