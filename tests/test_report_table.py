"""report.table lines columns up as a terminal shows them: wide characters take two columns."""

from __future__ import annotations

from conductor.report import display_width, table


def test_columns_line_up_with_wide_and_combining_characters() -> None:
    rows = [
        ["fork", "strategy", "state"],
        ["a", "日本語で", "done"],
        ["b", "cafe\u0301", "failed"],
        ["c", "x", "-"],
    ]
    lines = table(rows).splitlines()
    # the third column starts at the same terminal column on every line
    starts = {display_width(line[: line.index(row[2])]) for line, row in zip(lines, rows, strict=True)}
    assert starts == {len("fork  ") + len("日本語で") * 2 + 2}
    assert display_width("日本語") == 6 and display_width("cafe\u0301") == 4 and display_width("abc") == 3
