"""The JSON Schema of an answer, as each provider is sent it (docs/llm.md, "Schemas").

Providers enforce different subsets of JSON Schema, and silently ignore (Gemini) or refuse
(OpenAI's strict mode) the rest. So the schema sent is the answer model's schema cut down to
the keywords the provider documents, and the answer models (conductor.llm.answers) ask for
nothing the cut-down schema cannot say: whatever a schema-following model produces parses,
and what is wrong with it semantically is said in a re-ask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

Dialect = Literal["gemini", "openai", "ollama"]
DIALECTS: tuple[Dialect, ...] = ("gemini", "openai", "ollama")

_COMMON = {
    "type", "description", "properties", "required", "additionalProperties", "items", "enum",
    "anyOf", "minItems", "maxItems", "minimum", "maximum",
}  # fmt: skip

# Each set is the provider's documented list of JSON Schema keywords it follows, less those
# Conductor never sends ($ref/$defs: schemas go inlined; title: only an annotation).
KEYWORDS: dict[Dialect, frozenset[str]] = {
    # Gemini API, structured output, "JSON Schema support" (responseJsonSchema).
    "gemini": frozenset(
        _COMMON | {"additionalProperties", "format", "minimum", "maximum", "minItems", "maxItems"}
    ),
    # OpenAI, structured outputs, "Supported schemas" (strict json_schema): every object has
    # additionalProperties false and lists every property as required.
    "openai": frozenset(_COMMON | {"const", "format"}),
    # Ollama `format` (its /v1 json_schema too) becomes a llama.cpp grammar: "JSON Schemas →
    # GBNF" supports minimum/maximum for integers only.
    "ollama": frozenset(
        _COMMON | {"additionalProperties", "const", "minItems", "maxItems", "minimum", "maximum"}
    ),
}
_SCHEMA_MAPS = {"properties"}
_SCHEMA_VALUES = {"items", "additionalProperties"}
_SCHEMA_LISTS = {"anyOf"}


def _walk(
    value: dict[str, Any], keep: Callable[[str], bool], child: Callable[[dict[str, Any]], Any]
) -> dict[str, Any]:
    """One schema node: the keys `keep` accepts, with every subschema passed through `child`."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not keep(key):
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {name: child(sub) for name, sub in item.items()}
        elif key in _SCHEMA_VALUES and isinstance(item, dict):
            out[key] = child(item)
        elif key in _SCHEMA_LISTS:
            out[key] = [child(sub) for sub in item]
        else:
            out[key] = item
    return out


def canonical(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with every $ref inlined (not every API follows references) and
    no annotation titles. A property named `title` is a property, and stays."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def node(value: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in value:
            return node(defs[value["$ref"].rsplit("/", 1)[1]])
        return _walk(value, lambda key: key != "title", node)

    return node(schema)


def for_dialect(schema: dict[str, Any], dialect: str) -> dict[str, Any]:
    """`schema` (canonical) as `dialect` is sent it: only its documented keywords; for OpenAI's
    strict mode, closed objects with every property required (optional ones may be null)."""
    allowed = KEYWORDS[dialect]  # type: ignore[index]

    def node(value: dict[str, Any]) -> dict[str, Any]:
        out = _walk(value, allowed.__contains__, node)
        if dialect == "ollama" and out.get("type") == "number":
            out.pop("minimum", None)
            out.pop("maximum", None)
        if dialect == "openai" and out.get("type") == "object":
            required = set(out.get("required", []))
            properties = out.get("properties", {})
            for name, sub in properties.items():
                if name not in required and not _nullable(sub):
                    properties[name] = {"anyOf": [sub, {"type": "null"}]}
            out["required"] = list(properties)
            out["additionalProperties"] = False
        return out

    return node(schema)


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_nullable(s) for s in schema.get("anyOf", []))
