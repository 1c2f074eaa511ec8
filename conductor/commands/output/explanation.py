"""A step explained (explain, the demo): instruction, confidence and its factors, each attempt's
explanation, verdict and evidence, the policy it ran under, its events — as text, at most
SHOWN_LINES of anything long (`--json` has all that was kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from conductor.models.layout import StepPaths
from conductor.policy.effective import shown
from conductor.report import Report, plural
from conductor.runner.views.explanation import MEANING, STREAMS, Explanation

if TYPE_CHECKING:
    from conductor.commands.output import contract as c

SHOWN_LINES = 40  # of an explanation or an output, in the text (--json has all that was kept)


def _block(text: str, *, prefix: str) -> list[str]:
    """The last SHOWN_LINES lines of `text`, indented, after a note of how many were left out."""
    lines = text.rstrip().splitlines()
    out = (
        [f"{prefix}... {plural(len(lines) - SHOWN_LINES, 'earlier line')} (--json has them)"]
        if len(lines) > SHOWN_LINES
        else []
    )
    return out + [f"{prefix}{line}" for line in lines[-SHOWN_LINES:]]


def _head(text: str, *, prefix: str) -> list[str]:
    """The first SHOWN_LINES lines of `text`, indented, then how many more there are."""
    lines = text.rstrip().splitlines()
    out = [f"{prefix}{line}" for line in lines[:SHOWN_LINES]]
    if len(lines) > SHOWN_LINES:
        out.append(f"{prefix}... {plural(len(lines) - SHOWN_LINES, 'more line')} (--json has them)")
    return out


def confidence_line(confidence: dict[str, Any]) -> str:
    """`MEDIUM 0.62 — proceed with caution`."""
    level = str(confidence.get("level", ""))
    return f"{level.upper()} {confidence['score']:.2f} — {MEANING.get(level, level)}"


@dataclass
class ExplanationReport(Report):
    """Everything recorded about one step: the text tells it, `--json` has all of it."""

    explanation: Explanation

    def to_json(self) -> c.Explanation:
        return cast("c.Explanation", self.explanation.data)

    def render(self) -> str:
        data = self.explanation.data
        state = data["state"].replace("_", " ")
        out = [
            f"{data['step']} of {data['plan']}/{data['fork']}: {data['title']}  [{state}]",
            "",
            "Instruction:",
            *[f"  {line}" for line in data["instruction"].splitlines()],
            f"Allowed files: {', '.join(data['allowed_files'])}",
        ]
        if data.get("confidence"):
            out.append(f"Confidence: {confidence_line(data['confidence'])}")
        for attempt in data["attempts"]:
            out.append("")
            label = (
                "Assessment (before any attempt)"
                if attempt["attempt"] == 0
                else f"Attempt {attempt['attempt']}"
            )
            out.append(label + ":")
            confidence = attempt["confidence"]
            if confidence:
                out.append(f"  confidence {confidence_line(confidence)}:")
                for factor in confidence["factors"]:
                    weighted = f"{factor['value']:.2f} x {factor['weight']:.2f}"
                    out.append(f"    {factor['name']:<9} {weighted}  {factor['detail']}")
            if attempt.get("explanation"):
                out.append("  explanation:")
                out.extend(_head(attempt["explanation"], prefix="    > "))
            verdict = attempt["verdict"]
            if verdict is None:
                abandoned = data["state"] == "abandoned" and attempt is data["attempts"][-1]
                out.append(
                    "  no verdict: the fork was abandoned before one came"
                    if abandoned
                    else "  no verdict yet"
                )
                continue
            if verdict.get("accepted"):
                out.append(f"  ACCEPTED: passed {', '.join(verdict['checks'])}")
                change = verdict.get("diffstat") or "no files changed"
                out.append(f"  change: {change} ({plural(verdict['lines'], 'line')})")
                if verdict.get("checkout_changed"):
                    out.append(
                        "  your checkout changed while it ran (left as it is; not judged): "
                        + ", ".join(map(str, verdict["checkout_changed"]))
                    )
            else:
                out.append(f"  REJECTED: {verdict['failure']} ({verdict['cause']}): {verdict['reason']}")
                for violation in verdict.get("violations", []):
                    out.append(f"    - {violation['path']}: {violation['detail']}")
                for line in verdict.get("evidence", [])[: 10 if not verdict.get("violations") else 0]:
                    out.append(f"    | {line}")
                out.append(f"  recovery: {verdict['hint']}")
                if verdict.get("checkout_changed"):
                    out.append(
                        "  your checkout changed while it ran (left as it is; not judged): "
                        + ", ".join(map(str, verdict["checkout_changed"]))
                    )
                if verdict.get("diffstat"):
                    out.append(f"  rejected change: {verdict['diffstat']}")
                for stream in STREAMS:
                    printed = attempt.get("output", {}).get(stream)
                    if printed and printed.strip():
                        out.append(f"  the executor's {stream} (its end, redacted):")
                        out.extend(_block(printed, prefix="    | "))
            for command in verdict.get("commands", []):
                status = "timed out" if command["timed_out"] else f"exit {command['exit_code']}"
                out.append(
                    f"  verify `{command['command']}`: {status} in {command['seconds']}s"
                    f" (output {command['output_sha256'][:19]}…)"
                )
            if attempt["evidence_files"]:
                out.append(f"  evidence: {', '.join(attempt['evidence_files'])}")
            if attempt["commit"]:
                out.append(f"  commit: {attempt['commit']}  (git show {attempt['commit'][:12]})")
        policy = data["policy"]
        if policy:
            out.append("")
            out.append("Effective policy for this step:")
            for key, entry in policy["values"].items():
                if isinstance(entry, list):
                    values = ", ".join(f"{i['value']} ({i['origin']})" for i in entry) or "[]"
                    out.append(f"  {key}: {values}")
                else:
                    out.append(f"  {key}: {shown(entry['value'])}  ({entry['origin']})")
        out.append("")
        out.append("Events:")
        for event in data["events"]:
            out.append(
                f"  {event['time'][:19].replace('T', ' ')}  {event['type']:<18} #{event['attempt'] or '-'}"
                f"  {event['summary']}"
            )
        out.append("")
        out.append(
            f"Records: git show {data['ref']}:{StepPaths(data['step']).evidence}/   Branch: {data['branch']}"
        )
        return "\n".join(out)
