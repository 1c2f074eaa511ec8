"""A YAML text parsed again gives the same document, which its caller may change freely."""

from __future__ import annotations

import pytest

from conductor.errors import ConfigError
from conductor.models.source import parse

TEXT = "behavior:\n  timeout_seconds: 30\nfile_rules:\n  protected:\n    - secrets/**\n"


def test_a_parsed_document_is_the_callers_own_to_change() -> None:
    first = parse(TEXT, path="policy.yaml")
    first.data["behavior"]["timeout_seconds"] = 1
    first.data["file_rules"]["protected"].append("more/**")
    first.lines.clear()
    again = parse(TEXT.encode(), path="policy.yaml")
    assert again.data == {"behavior": {"timeout_seconds": 30}, "file_rules": {"protected": ["secrets/**"]}}
    assert again.line_of(("file_rules", "protected", 0)) == 5


def test_the_same_text_under_another_name_is_named_so() -> None:
    parse(TEXT, path="a.yaml")
    assert parse(TEXT, path="b.yaml").path == "b.yaml"


def test_a_bad_text_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ConfigError, match="appears twice"):
            parse("a: 1\na: 2\n", path="p.yaml")
