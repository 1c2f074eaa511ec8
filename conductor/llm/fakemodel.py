"""A fake model that follows each request's own schema, as constrained decoding does (Gemini's
structured output, vLLM's guided decoding, Ollama's `format`): for tests about the pipeline
rather than a particular answer.

The schema is read from the request body, never from our answer models, and the answer uses
only the properties it declares; a property the schema forgot cannot be produced. Values are
chosen from the prompt by property name (a path the task may change, a small Python file, a
verify command that passes), deterministically: the request seeds the choices. `faults` makes
the first requests go wrong (429, 500, a timeout, a wrong type, a missing field).
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from conductor.llm.fake import FakeModelServer, Seen

Fault = Literal["429", "500", "timeout", "wrong-type", "missing-field"]
FAULTS: tuple[Fault, ...] = ("429", "500", "timeout", "wrong-type", "missing-field")
Where = tuple[str | int, ...]  # the property names and item indexes leading to a value

STRATEGIES = (
    "Keep everything in one small module with a main function.",
    "Split the work into a module of plain functions and a thin command-line front end.",
    "Store the data in a JSON file next to the code and read it on every call.",
    "Use only the standard library and keep state in memory.",
    "Write a class that owns the state, with one method per operation.",
    "Start with the data format, then add the operations one by one.",
)
FILE_NAME = re.compile(r"[\w./-]*\w\.(?:py|md|txt|toml|json|cfg|ini|yaml|yml)\b")


class SchemaFollowingModel(FakeModelServer):
    """`FakeModelServer` without a script: every request is answered from its own schema.

    `faults[k]` is what happens to request k+1 (in arrival order); later requests are answered
    well. With `free_text_ids`, strategy ids are written as a person would ("Approach 1")."""

    def __init__(
        self,
        flavor: str = "gemini",
        *,
        faults: Sequence[Fault] = (),
        free_text_ids: bool = False,
        delay: float = 2.0,
    ) -> None:
        super().__init__([], flavor=flavor)
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)} (known: {', '.join(FAULTS)})")
        self.faults = list(faults)
        self.free_text_ids = free_text_ids
        self.delay = delay  # a "timeout" answers after this long: set the client's timeout below it

    def _reply(self, seen: Seen) -> dict[str, Any]:
        number = len(self.seen)  # this request's, counting from 1 (it is in `seen` already)
        fault = self.faults[number - 1] if number <= len(self.faults) else None
        if fault in ("429", "500"):
            return {"status": int(fault), "message": f"fault {fault} (as asked)", "fault": fault}
        schema = request_schema(seen.body, self.flavor)
        if schema is None:
            return {"status": 400, "message": "the schema-following fake needs a response schema"}
        good = answer(schema, request_text(seen.body, self.flavor), seed=seen.text, ids=self.free_text_ids)
        if fault == "timeout":
            return {"delay": self.delay, "json": good, "fault": fault}
        if fault == "wrong-type":
            return {"json": wrong_type(schema, good), "fault": fault}
        if fault == "missing-field":
            return {"json": missing_field(schema, good), "fault": fault}
        return {"json": good}


def request_schema(body: dict[str, Any], flavor: str) -> dict[str, Any] | None:
    """The JSON Schema a request asks its answer to follow, as sent."""
    if flavor == "gemini":
        config = body.get("generationConfig") or {}
        found = config.get("responseJsonSchema") or config.get("responseSchema")
    else:
        found = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
    return found if isinstance(found, dict) else None


def request_text(body: dict[str, Any], flavor: str) -> str:
    """The user's part of a request: the prompt."""
    if flavor == "gemini":
        parts = [p for c in body.get("contents", []) for p in c.get("parts", [])]
        return "\n".join(str(p.get("text", "")) for p in parts)
    messages = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return "\n".join(str(m.get("content", "")) for m in messages)


@dataclass(frozen=True)
class Prompt:
    """What a planner or edit prompt says, as far as the fake's choices go."""

    goal: str
    task: str
    strategies: int
    files: list[str]  # an edit task's files; empty for a plan
    named: list[str]  # files the goal names that no protected pattern matches

    @classmethod
    def read(cls, text: str) -> Prompt:
        goal = _line(r"^Goal(?: of the whole plan)?: (.*)$", text)
        count = re.search(r"Plan (\d+) genuinely different strategies", text)
        if count:
            strategies = int(count.group(1))
        elif "in this order:\n" in text:
            listed = text.split("in this order:\n", 1)[1]
            strategies = len(re.findall(r"^\d+\. ", listed.split("\n\n", 1)[0], re.M))
        else:
            strategies = 1
        files = re.findall(r"^--- (.+) ---$", text, re.M)
        if not files and (allowed := _line(r"^You may change only: (.*)$", text)):
            files = [f.strip() for f in allowed.split(",")]
        protected = _line(r"protected patterns \(never allow these\): (.*)$", text).split(", ")
        named = [f for f in FILE_NAME.findall(goal) if not any(fnmatch.fnmatch(f, p) for p in protected if p)]
        task = _line(r"^Task \S+ \(attempt \d+\): (.*)$", text)
        return cls(goal=goal, task=task, strategies=max(1, strategies), files=files, named=named)


def _line(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.M)
    return found.group(1).strip() if found else ""


def answer(schema: dict[str, Any], prompt: str, *, seed: str = "", ids: bool = False) -> Any:
    """An instance of `schema`, its values chosen from `prompt`; the same for the same seed."""
    rng = random.Random(hashlib.sha256((seed or prompt).encode()).digest())
    return _Writer(Prompt.read(prompt), rng, free_text_ids=ids).value(schema, ())


class _Writer:
    def __init__(self, prompt: Prompt, rng: random.Random, *, free_text_ids: bool) -> None:
        self.prompt = prompt
        self.rng = rng
        self.free_text_ids = free_text_ids

    def value(self, schema: dict[str, Any], where: Where, siblings: dict[str, Any] | None = None) -> Any:
        name = next((w for w in reversed(where) if isinstance(w, str)), "")
        kinds = schema.get("type")
        options = schema.get("anyOf") or ([{"type": k} for k in kinds] if isinstance(kinds, list) else None)
        if options:
            present = [o for o in options if o.get("type") != "null"]
            if not present or (len(present) < len(options) and self._null(name)):
                return None
            chosen = present[0] if len(present) == 1 else self.rng.choice(present)
            return self.value({**schema, "anyOf": None, "type": None, **chosen}, where, siblings)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self._enum(schema["enum"], name)
        kind = kinds or ("object" if "properties" in schema else "array" if "items" in schema else "string")
        if kind == "object":
            return self._object(schema, where)
        if kind == "array":
            return self._array(schema, where, name, siblings or {})
        if kind in ("number", "integer"):
            return self._number(schema, name, integer=kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(name, where, siblings or {})

    def _null(self, name: str) -> bool:
        if name in ("search", "replace"):
            return True  # the edits are writes
        return name != "content" and self.rng.random() < 0.3

    def _include(self, name: str) -> bool:
        """Whether to give an optional property (a write's content, always; never search text)."""
        if name in ("content", "search", "replace"):
            return name == "content"
        return self.rng.random() < 0.5

    def _enum(self, values: list[Any], name: str) -> Any:
        return "write" if name == "action" and "write" in values else self.rng.choice(values)

    def _object(self, schema: dict[str, Any], where: Where) -> dict[str, Any]:
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for name, sub in (schema.get("properties") or {}).items():
            if name in required or self._include(name):
                out[name] = self.value(sub, (*where, name), out)
        return out  # only declared properties, whatever additionalProperties allows

    def _array(self, schema: dict[str, Any], where: Where, name: str, siblings: dict[str, Any]) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        wanted = {
            "strategies": self.prompt.strategies,
            "steps": self.rng.randint(1, 2),
            "allowed_files": 1,
            "verify": self.rng.randint(0, 1),
            "edits": len(self.prompt.files) or 1,
        }.get(name, self.rng.randint(low, min(high, low + 2)))
        count = max(low, min(high, wanted))
        items = schema.get("items") or {"type": "string"}
        return [self.value(items, (*where, i), siblings) for i in range(count)]

    def _number(self, schema: dict[str, Any], name: str, *, integer: bool) -> float | int:
        low = float(schema.get("minimum", 0))
        high = float(schema.get("maximum", low + 100))
        wanted = {"confidence": (0.6, 0.95), "expected_lines": (5, 40)}.get(name)
        if wanted and max(low, wanted[0]) <= min(high, wanted[1]):
            low, high = max(low, wanted[0]), min(high, wanted[1])
        if integer:
            return self.rng.randint(math.ceil(low), math.floor(high))
        return min(high, max(low, round(self.rng.uniform(low, high), 2)))

    def _file(self, where: Where) -> str:
        strategy, step = _index(where, "strategies"), _index(where, "steps")
        if step == 0 and self.prompt.named:
            return self.prompt.named[0]
        return f"feature_{strategy + 1}_{step + 1}.py"

    def _string(self, name: str, where: Where, siblings: dict[str, Any]) -> str:
        strategy = _index(where, "strategies")
        goal = self.prompt.goal or "the goal"
        files = self.prompt.files or ["feature_1_1.py"]
        if name == "id":
            return f"Approach {strategy + 1}" if self.free_text_ids else f"approach-{strategy + 1}"
        if name == "strategy":
            return STRATEGIES[strategy % len(STRATEGIES)]
        if name == "title":
            return f"Create {self._file(where)}"
        if name == "instruction":
            return f"Create {self._file(where)}: a small, runnable part of the goal ({goal})."
        if name == "allowed_files":
            return self._file(where)
        if name == "verify":
            listed = [f for f in siblings.get("allowed_files", []) if str(f).endswith(".py")]
            return f"python3 {listed[0]}" if listed else "python3 -c pass"
        if name == "path":
            return files[_index(where, "edits") % len(files)]
        if name == "content":
            return _content(str(siblings.get("path", "feature.py")), self.prompt.task or goal)
        if name == "summary":
            return f"Wrote {', '.join(files)}."
        if name == "explanation":
            return f"Wrote {', '.join(f'`{f}`' for f in files)} for the task: {self.prompt.task or goal}"
        return f"{name.replace('_', ' ') or 'value'} {self.rng.randint(1, 99)}".strip()


def _index(where: Where, name: str) -> int:
    """The index of the item of array `name` that `where` passes through (0 if none)."""
    for at, step in enumerate(where[:-1]):
        following = where[at + 1]
        if step == name and isinstance(following, int):
            return following
    return 0


def _content(path: str, task: str) -> str:
    """A small file for `path`: for Python, a module that runs (its verify command runs it)."""
    if not path.endswith(".py"):
        return f"# {path}\n\n{task}\n"
    doc = task.replace("\\", "/").replace('"', "'")
    lines = [f'"""{doc}"""', "", "", "def main() -> None:", f"    print({path + ': ok'!r})", ""]
    return "\n".join([*lines, "", 'if __name__ == "__main__":', "    main()", ""])


def wrong_type(schema: dict[str, Any], good: dict[str, Any]) -> dict[str, Any]:
    """`good` with one required property of the wrong type (an array's first, if there is one)."""
    properties = schema.get("properties", {})
    present = [n for n in schema.get("required", []) if n in good]
    if not present:
        return good
    kinds = {n: properties.get(n, {}).get("type") for n in present}
    name = next((n for n in present if kinds[n] == "array"), present[0])
    wrong = {"array": "not a list", "object": "not an object", "string": 12345}.get(str(kinds[name]), "many")
    return {**good, name: wrong}


def missing_field(schema: dict[str, Any], good: dict[str, Any]) -> dict[str, Any]:
    """`good` without its first required property."""
    present = [n for n in schema.get("required", []) if n in good]
    return {k: v for k, v in good.items() if not present or k != present[0]}
