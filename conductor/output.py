"""Writing to the terminal: JSON for machines, plain or rich text for people.

Commands build one data object and render it either way, so `--json` always carries the
same facts as the text view.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def emit_json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str))
    sys.stdout.write("\n")


def echo(text: str = "", *, err: bool = False) -> None:
    click.echo(text, err=err)


def table(rows: list[list[str]], *, indent: str = "") -> str:
    """Left-aligned columns, two spaces apart (cheap: no rich import on fast paths)."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append(indent + "  ".join(cells).rstrip())
    return "\n".join(lines)
