"""The one way outside data becomes a model: validate, and turn every failure into a ConfigError
that names the file, the line and the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from conductor.errors import ConfigError
from conductor.models.source import Location, YamlDocument

M = TypeVar("M", bound=BaseModel)


def validate(doc: YamlDocument, model: type[M], *, at: Location = (), schema: str | None = None) -> M:
    """Validate the value at `at` in `doc` as `model` (`schema`: the `conductor schema` name)."""
    data: Any = doc.data
    for key in at:
        data = data[key]
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "nothing"
        raise ConfigError(
            f"expected a mapping of settings, found {found}",
            path=doc.path,
            line=doc.line_of(at),
            field=".".join(map(str, at)) or None,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = _to_config_error(exc, doc, at, model, data)
        if schema and error.hint is None:
            error.hint = f"the format is described by `conductor schema {schema}`"
        raise error from None


def _to_config_error(
    exc: ValidationError, doc: YamlDocument, at: Location, model: type[M], data: Any
) -> ConfigError:
    # A model that reshapes its input (PlanSpec's `steps:` shorthand) maps locations back.
    source = getattr(model, "source_location", None)
    problems = []
    # An unknown key is usually the cause of a "missing" one (a typo): report it first.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    for err in errors:
        loc = (*at, *(source(tuple(err["loc"]), data) if source else err["loc"]))
        field = ".".join(str(p) for p in loc)
        line = doc.line_of(loc)
        problems.append((field, line, _describe(err)))
    field, line, text = problems[0]
    more = ""
    if len(problems) > 1:
        rest = [f"  {f'line {ln}, ' if ln else ''}{f}: {t}" for f, ln, t in problems[1:]]
        more = "\nalso:\n" + "\n".join(rest)
    return ConfigError(text, path=doc.path, line=line, field=field, details=more)


def _describe(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling)"
    if kind == "missing":
        return "required key is missing"
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    value = err.get("input")
    if kind.endswith("_type") and not isinstance(value, dict | list):
        return f"{message} (got {type(value).__name__} {value!r})"
    return message
