"""The record layout: docs/storage.md, conductor/models/layout.py and conductor/ledger/refs.py
say the same thing, and a real run writes nothing the documentation does not list."""

from __future__ import annotations

import re

from conductor.ledger import refs
from conductor.ledger.format import FORMAT_FILE
from conductor.models import layout
from conductor.models.layout import AttemptPaths, StepPaths
from tests.conftest import ROOT, git
from tests.scenario import Project, build

STORAGE = ROOT / "docs" / "storage.md"
METRICS_TREE = "In the metrics log's tree"


def tables(text: str) -> list[tuple[str, list[str]]]:
    """Every Markdown table as (header's first cell, first cells of its rows, backticks stripped)."""
    found: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| ---") and i > 0:
            header = lines[i - 1].split("|")[1].strip()
            rows = []
            for row in lines[i + 1 :]:
                if not row.startswith("|"):
                    break
                rows.append(row.split("|")[1].strip().strip("`"))
            found.append((header, rows))
    return found


def documented() -> tuple[list[str], list[str], list[str]]:
    """The refs, the fork-log paths and the plan-log paths that docs/storage.md lists."""
    by_header = tables(STORAGE.read_text(encoding="utf-8"))
    ref_rows = [rows for header, rows in by_header if header == "Ref"]
    path_rows = [rows for header, rows in by_header if header == "Path"]
    assert len(ref_rows) == 1 and len(path_rows) == 2
    return ref_rows[0], path_rows[0], path_rows[1]


def test_the_refs_table_is_the_refs_module() -> None:
    slot = refs.work_slot("<plan>", "<fork>", "<step>", "<N>")  # type: ignore[arg-type]
    from_code = [
        refs.code_branch("<plan>", "<fork>"),
        refs.plan_log("<plan>"),
        refs.fork_log("<plan>", "<fork>"),
        refs.MEMORY,
        refs.ARCHIVE,
        refs.METRICS,
        refs.kept("<plan>", "<fork>"),
        *[f"{slot}/{kind}" for kind in refs.WORK_KINDS],
    ]
    assert documented()[0] == from_code


def test_the_fork_log_table_is_the_layout_module() -> None:
    step = StepPaths("<step>")
    attempt = AttemptPaths("<step>", "<N>")  # type: ignore[arg-type]
    from_code = [
        FORMAT_FILE,
        layout.FORK_FILE,
        layout.STATE_FILE,
        step.state,
        *[step.record("<dir>", suffix) for suffix in layout.HANDED],
        step.record(layout.COMPLETED, layout.PROVENANCE),
        step.record(layout.COMPLETED, layout.BUNDLE),
        step.policy,
        step.assessment,
        attempt.confidence,
        attempt.verdict,
        attempt.verify_log("<i>"),  # type: ignore[arg-type]
        attempt.output("stdout"),
        attempt.output("stderr"),
        attempt.patch,
        *[attempt.kept(suffix) for suffix in layout.HANDED],
        attempt.late(layout.RESULT),
        attempt.late(layout.EXPLANATION),
        attempt.refused("<n>"),  # type: ignore[arg-type]
        f"{attempt.llm}/<NNN>.json",
    ]
    assert documented()[1] == from_code


def test_the_plan_log_table_is_the_layout_module() -> None:
    from_code = [
        FORMAT_FILE,
        layout.PLAN_FILE,
        layout.PLAN_POLICY,
        layout.COMPARISON_FILE,
        f"{layout.llm_folder('<scope>')}/<NNN>.json",
    ]
    assert documented()[2] == from_code


def metrics_documented() -> list[str]:
    (rows,) = [rows for header, rows in tables(STORAGE.read_text(encoding="utf-8")) if header == METRICS_TREE]
    return rows


def test_the_metrics_log_table_is_the_layout_module() -> None:
    folder, _fan, *rest = layout.tally_fork("<plan>", "<fork>").split("/")  # the fan-out is a digest
    from_code = [
        FORMAT_FILE,
        layout.TALLY_FILE,
        layout.tally_duration("<second>"),  # type: ignore[arg-type]
        "/".join([folder, "<xx>", *rest]),
    ]
    assert metrics_documented() == from_code


def pattern(template: str) -> re.Pattern[str]:
    """A documented template as a regex: `<dir>` is one of the seed's directories, any other
    `<placeholder>` one path segment."""
    out = ""
    for piece in re.split(r"(<[A-Za-z]+>)", template):
        if piece == "<dir>":
            out += "(?:" + "|".join(layout.DIRS) + ")"
        elif piece.startswith("<"):
            out += "[^/]+" if piece != "<scope>" else ".+"
        else:
            out += re.escape(piece)
    return re.compile(out)


def test_a_real_run_writes_only_documented_records_and_refs(proj: Project, run_cli) -> None:
    steps = [
        {
            "title": "Write new.py",
            "instruction": "Write new.py",
            "allowed_files": ["new.py"],
            "verify": ["true"],
        },
        {"title": "Write two.py", "instruction": "Write two.py", "allowed_files": ["two.py"]},
    ]
    plan = proj.plan(steps)
    script = {
        "step_001": {
            "1": [{"write": {"new.py": "x = 1\n", "uv.lock": "pinned\n"}}],
            "2": [{"write": {"new.py": "x = 2\n"}}],
        },
        "step_002": [{"write": {"two.py": "y = 2\n"}}],
    }
    assert build(run_cli, proj, plan, proj.agent(script)).code == 0
    ref_templates, fork_templates, plan_templates = documented()
    ref_patterns = [pattern(t) for t in ref_templates]
    names = git(proj.root, "for-each-ref", "--format=%(refname)", "refs/conductor/", "refs/heads/conductor/")
    for name in names.split():
        assert any(p.fullmatch(name) for p in ref_patterns), f"undocumented ref {name}"
    for ref, templates in (
        (refs.fork_log(proj.only_plan(), "main"), fork_templates),
        (refs.plan_log(proj.only_plan()), plan_templates),
    ):
        patterns = [pattern(t) for t in templates]
        seen = set()
        for commit in git(proj.root, "rev-list", ref).split():
            seen.update(git(proj.root, "ls-tree", "-r", "--name-only", commit).split())
        undocumented = sorted(path for path in seen if not any(p.fullmatch(path) for p in patterns))
        assert undocumented == [], f"{ref} holds undocumented records"
        assert len(seen) > 2
    patterns = [pattern(t) for t in metrics_documented()]
    kept = git(proj.root, "ls-tree", "-r", "--name-only", refs.METRICS).split()
    assert kept and [path for path in kept if not any(p.fullmatch(path) for p in patterns)] == []
