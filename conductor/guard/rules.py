"""The part of a policy file the guard needs, read without pydantic: protected patterns.

The guard checks only `file_rules`, strictly (an unknown key there is probably a typo that
would silently unprotect files); `conductor policy check` validates the whole file.
"""

from __future__ import annotations

from conductor.errors import ConfigError
from conductor.models.source import YamlDocument

FILE_RULES_KEYS = frozenset({"protected_patterns", "review_patterns", "secrets_allowed"})
"""The keys of `file_rules`; tests keep this in step with conductor.models.policy.FileRules."""


def protected_patterns(doc: YamlDocument) -> list[tuple[str, int | None]]:
    """The `file_rules.protected_patterns` of a policy document, each with its line."""
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping of settings", path=doc.path, line=doc.line_of(()))
    rules = doc.data.get("file_rules")
    if rules is None:
        return []
    if not isinstance(rules, dict):
        raise _bad(doc, ("file_rules",), "must be a mapping")
    for key in rules:
        if key not in FILE_RULES_KEYS:
            raise _bad(doc, ("file_rules", key), "unknown key (check the spelling)")
    patterns = rules.get("protected_patterns")
    if patterns is None:
        return []
    if not isinstance(patterns, list):
        raise _bad(doc, ("file_rules", "protected_patterns"), "must be a list of patterns")
    out = []
    for i, item in enumerate(patterns):
        if not isinstance(item, str):
            raise _bad(doc, ("file_rules", "protected_patterns", i), "must be a string")
        out.append((item, doc.line_of(("file_rules", "protected_patterns", i))))
    return out


def searches(patterns: list[str]) -> list[tuple[str, int]]:
    """The regular expressions (source, flags) pathspec compiles the protecting patterns to
    (not the `!` ones, not blanks or comments): a path none of them finds is not protected."""
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    return [(p.regex.pattern, p.regex.flags) for p in spec.patterns if p.include and p.regex is not None]


def _bad(doc: YamlDocument, loc: tuple[str | int, ...], problem: str) -> ConfigError:
    field = ".".join(str(p) for p in loc)
    return ConfigError(problem, path=doc.path, line=doc.line_of(loc), field=field)
