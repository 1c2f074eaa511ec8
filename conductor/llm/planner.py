"""The LLM planner: a goal and a bounded view of the repository become strategies of steps.

The planner sees the file list (first 300 paths), the start of the README, and the policy
(protected patterns, constraints, limits). A step that lists a protected file is sent back
with the reason — once — rather than silently fixed; a second offence is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.llm.answers import PlanAnswer, PlannedStrategy, answer_schema, label, plan_problems
from conductor.llm.caller import Answer, Caller
from conductor.llm.provider import LLMError, LLMRequest
from conductor.models.plan import ForkSpec, PlanSpec, StepSpec, is_valid_id
from conductor.policy.effective import EffectivePolicy

MAX_FILES = 300
README_CHARS = 2000
WILDCARDS = set("*?[")
STRATEGY_CHARS = 500

SYSTEM = """\
You are the planner of Conductor, which hands each step of a plan to a coding agent and checks
the result against a policy. Plan small, verifiable steps. For every step give the exact
repository-relative files it may change (allowed_files: no wildcards unless unavoidable), an
instruction precise enough for an agent that sees only the step, and verify commands that prove
it (for Python, tests run with `python -m pytest -q`). Never list a protected file. Answer with
JSON matching the schema, nothing else."""


def repo_context(root: Path, policy: EffectivePolicy, base: str = "HEAD") -> str:
    """What the planner may know of the repository at commit `base`, bounded in size."""
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
    return (
        f"Repository files:\n{shown}{more}\n\n"
        f"README (start):\n{readme or '(none)'}\n\n"
        f"Policy:\n- protected patterns (never allow these): {protected}\n"
        f"- each step may change at most {policy.max_diff_lines} lines\n"
        f"- constraints:\n{constraints}\n"
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
