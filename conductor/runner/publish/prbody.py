"""The pull request's text for a fork, rendered from facts gathered out of the ledger: a pure
function (same facts, same Markdown), written to read well on GitHub — tables, and long
evidence in collapsed <details>. Control characters and bidi overrides in what it quotes (a
rejection naming an agent's file, a title) are shown as their escapes (terminal.clean): GitHub
warns of bidi text in files and diffs, not in a pull request's description, where a reviewer
would read an override without being told."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from conductor.ledger import refs
from conductor.terminal import clean


@dataclass(frozen=True)
class Rejection:
    attempt: int
    failure: str
    reason: str


@dataclass(frozen=True)
class StepFacts:
    id: str
    title: str
    state: str  # completed, failed, pending, ...
    confidence: float | None = None
    level: str | None = None
    commands: list[tuple[str, bool]] = field(default_factory=list)  # (command, passed)
    rejections: list[Rejection] = field(default_factory=list)
    provenance: str | None = None  # the statement's digest
    signer: str | None = None  # the sigstore identity; None when unsigned
    commit: str | None = None
    inherited_from: str | None = None  # `PLAN/FORK` of the plan a fork --from plan took it from
    explanation: str | None = None  # the agent's explanation of the accepted attempt (redacted)


@dataclass(frozen=True)
class PrFacts:
    plan: str
    fork: str
    goal: str
    strategy: str
    branch: str
    base: str  # the commit the plan started from
    steps: list[StepFacts]
    tokens: int = 0
    forks: list[list[str]] = field(default_factory=list)  # the comparison table, header first
    recommendation: str | None = None
    several_forks: bool = False
    records_from: str | None = None  # where the records are, when not on the branch's remote
    source_branches: tuple[str, ...] = ()  # the branches of the forks it inherits from, pushed with it


def title(facts: PrFacts) -> str:
    goal = clean(" ".join(facts.goal.split()))
    return goal if len(goal) <= 72 else goal[:71] + "…"


def verify_instructions(facts: PrFacts, remote: str = "origin") -> list[str]:
    """The commands a reviewer runs to check the evidence in their own clone."""
    fork = f" --fork {facts.fork}" if facts.several_forks else ""
    verify = f"conductor verify {facts.plan}{fork}"
    branches = " ".join(f"{b}:{b}" for b in (facts.branch, *facts.source_branches))
    if facts.records_from:
        return [
            f"git fetch {remote} {branches}",
            f"git fetch {facts.records_from} {refs.SHARED}",
            verify,
        ]
    return [f"git fetch {remote} {refs.SHARED} {branches}", verify]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _verdict(step: StepFacts) -> str:
    if step.inherited_from:
        return f"inherited from {step.inherited_from} {step.id}"
    if step.state == "completed":
        return "accepted" + (f" after {len(step.rejections)} rejected" if step.rejections else "")
    return step.state


def _checks(step: StepFacts) -> str:
    if not step.commands:
        return "-"
    return "<br>".join(f"{'✅' if ok else '❌'} `{_cell(cmd)}`" for cmd, ok in step.commands)


EXPLANATION_LINES = 40
EXPLANATION_CHARS = 4000
"""How much of a step's explanation the description shows (`conductor explain` shows it all)."""


def explanations(facts: PrFacts) -> list[str]:
    """Each step's explanation, collapsed: the agent's own words, bounded, in a code block (so
    no Markdown or HTML of theirs renders, mentions no one and cannot close the <details>)."""
    out = []
    for step in facts.steps:
        if not step.explanation or not step.explanation.strip():
            continue
        text, cut = _bounded(step.explanation)
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
        plan, _, fork = (step.inherited_from or f"{facts.plan}/{facts.fork}").partition("/")
        where = f"`conductor explain {step.id} --plan {plan} --fork {fork}`"
        summary = f"Why {step.id} ({html.escape(_cell(step.title))}): the agent's explanation"
        out += [
            "",
            f"<details><summary>{summary}</summary>",
            "",
            f"{fence}text",
            text,
            fence,
            *([f"… {cut} (all of it: {where})"] if cut else []),
            "",
            "</details>",
        ]
    return ["", "## Explanations", *out] if out else []


def _bounded(text: str) -> tuple[str, str]:
    """The explanation's first EXPLANATION_LINES lines and EXPLANATION_CHARS characters, and
    what was left out ("" when nothing was)."""
    lines = text.strip("\n").splitlines()
    shown = "\n".join(lines[:EXPLANATION_LINES])
    if len(shown) > EXPLANATION_CHARS:
        shown = shown[:EXPLANATION_CHARS]
    left = len(text.strip("\n")) - len(shown)
    return shown, (f"{left} more characters" if left > 0 else "")


def render(facts: PrFacts) -> str:
    """The Markdown body of the pull request for `facts.fork` of `facts.plan`."""
    accepted = sum(1 for s in facts.steps if s.state == "completed")
    sources = list(dict.fromkeys(s.inherited_from for s in facts.steps if s.inherited_from))
    inherited = sum(1 for s in facts.steps if s.inherited_from)
    taken = f" ({inherited} inherited from {', '.join(f'`{s}`' for s in sources)})" if sources else ""
    out = [
        f"**Goal:** {facts.goal.strip()}",
        "",
        f"**Strategy:** {facts.strategy or '-'} (fork `{facts.fork}` of plan `{facts.plan}`,"
        f" from `{facts.base[:12]}`)",
        "",
        f"{accepted}/{len(facts.steps)} steps accepted{taken}"
        + (f"; {facts.tokens} tokens" if facts.tokens else ""),
        "",
        "## Steps",
        "",
        "| Step | Title | Confidence | Verdict | Verify commands |",
        "| --- | --- | --- | --- | --- |",
    ]
    for step in facts.steps:
        confidence = f"{step.confidence:.2f}" if step.confidence is not None else "-"
        if step.level == "medium":
            confidence += " ⚠️ **MEDIUM**"
        elif step.level:
            confidence += f" ({step.level})"
        out.append(f"| {step.id} | {_cell(step.title)} | {confidence} | {_verdict(step)} | {_checks(step)} |")
    if any(step.level == "medium" for step in facts.steps):
        out += [
            "",
            "⚠️ **MEDIUM** confidence: proceed with caution. Such a step ran without a person only"
            " because verify commands proved it (or a person approved it); review it first.",
        ]
    out += explanations(facts)
    rejected = [s for s in facts.steps if s.rejections]
    if rejected:
        out += ["", "<details><summary>Rejected attempts and repairs</summary>", ""]
        for step in rejected:
            for r in step.rejections:
                out.append(f"- {step.id} attempt {r.attempt}: **{r.failure}**: {_cell(r.reason)}")
        out += ["", "</details>"]
    out += [
        "",
        "## Provenance",
        "",
        "| Step | Commit | Statement digest | Signer |",
        "| --- | --- | --- | --- |",
    ]
    for step in facts.steps:
        if step.provenance is None:
            continue
        commit = f"`{step.commit[:12]}`" if step.commit else "-"
        signer = _cell(step.signer) if step.signer else "unsigned"
        out.append(f"| {step.id} | {commit} | `{step.provenance}` | {signer} |")
    if len(facts.forks) > 1 and facts.several_forks:
        header, *rows = facts.forks
        out += ["", "## Other forks", ""]
        if facts.recommendation:
            out += [f"Recommended: `{facts.fork}` — {facts.recommendation}", ""]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + " --- |" * len(header))
        out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    out += [
        "",
        "## How to check it",
        "",
        "Every accepted step's task, verdict, evidence and provenance statement are recorded in git"
        " (`refs/conductor/`). In a clone of this repository:",
        "",
        "```sh",
        *verify_instructions(facts),
        "```",
        "",
        f"<sub>Opened by `conductor pr` from the records of plan `{facts.plan}`.</sub>",
    ]
    return clean("\n".join(out)) + "\n"
