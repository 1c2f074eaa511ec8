"""The effective policy: defaults, then project -> plan -> step layers, each value with its origin.

Merge rules (docs/policy.md):
  * scalars: the later layer wins;
  * `global_constraints` and `verify.commands`: concatenated, in layer order, without repeats;
  * `file_rules.protected_patterns`: each layer adds a layer of protection; none is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from conductor.models.policy import PolicyFile
from conductor.models.source import Location, YamlDocument
from conductor.policy.patterns import Pattern, ProtectedPatterns

DEFAULTS: dict[str, Any] = {
    "behavior.max_diff_lines": 500,
    "behavior.max_files_changed": None,
    "behavior.timeout_seconds": 300,
    "behavior.max_attempts": 2,
    "behavior.shell_commands": False,
    "verify.timeout_seconds": 300,
    "confidence.approval_below": 0.5,
    "provenance.sign": "auto",
    "behavior.max_result_bytes": 1024 * 1024,
    "sandbox.mode": "auto",
    "sandbox.network": True,
    "workspace.env": None,
    "workspace.worktrees": None,
    "executor.agent": None,
    "executor.model": None,
}
LISTS = (
    "global_constraints",
    "verify.commands",
    "secrets.env",
    "workspace.setup",
    "workspace.setup_inputs",
    "workspace.copy",
    "sandbox.expose",
)
TIGHTENING: dict[str, list[Any]] = {
    "sandbox.mode": ["off", "auto", "required"],
    "sandbox.network": [True, False],
}
"""Settings a plan or step layer can only make stricter (later in the list); only the project's
own policy file may loosen them."""
PROJECT_ONLY = ("workspace.worktrees", "sandbox.expose", "executor.agent", "executor.model")
"""Settings only the project's own policy file sets (a plan may come from a model): a plan or
step layer's value is not taken."""
PROTECTED = "file_rules.protected_patterns"
BUILTIN_PROTECTED = (".conductor/", ".git/")
"""Always protected from agent steps (not from humans: the guard uses the files only)."""


def shown(value: Any) -> str:
    """A policy value as the policy file writes it: `true`, `null`, `300`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Sourced:
    """A value and where it came from: `default`, `.conductor/policy.yaml:7`, `step step_002`…"""

    value: Any
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "origin": self.origin}


@dataclass(frozen=True)
class PolicyLayer:
    """One source of policy: a parsed PolicyFile, its label, and where its lines are."""

    label: str
    policy: PolicyFile
    doc: YamlDocument | None = None
    at: Location = ()
    trusted: bool = False  # the project's own policy file (a plan may come from a model)

    def origin(self, key: str, index: int | None = None) -> str:
        if self.doc is None:
            return self.label
        loc: Location = (*self.at, *key.split("."))
        if index is not None:
            loc = (*loc, index)
        line = self.doc.line_of(loc)
        return f"{self.doc.path}:{line}" if line else self.doc.path


@dataclass(frozen=True)
class EffectivePolicy:
    scalars: dict[str, Sourced]
    lists: dict[str, list[Sourced]]
    protected: ProtectedPatterns
    layers: list[str] = field(default_factory=list)

    @classmethod
    def defaults(cls, *, builtin: bool = True) -> EffectivePolicy:
        scalars = {key: Sourced(value, "default") for key, value in DEFAULTS.items()}
        patterns = [Pattern(p, "built-in") for p in BUILTIN_PROTECTED] if builtin else []
        return cls(scalars, {key: [] for key in LISTS}, ProtectedPatterns([patterns]), ["default"])

    @classmethod
    def merge(cls, *layers: PolicyLayer, builtin: bool = True) -> EffectivePolicy:
        policy = cls.defaults(builtin=builtin)
        for layer in layers:
            policy = policy.overlay(layer)
        return policy

    def overlay(self, layer: PolicyLayer) -> EffectivePolicy:
        """This policy with one more layer on top."""
        scalars = dict(self.scalars)
        lists = {key: list(values) for key, values in self.lists.items()}
        protected = self.protected
        for key, value in flatten(layer.policy).items():
            if key in PROJECT_ONLY and not layer.trusted:
                continue
            if key == PROTECTED:
                protected = protected.with_layer(
                    [Pattern(p, layer.origin(key, i)) for i, p in enumerate(value)]
                )
            elif key in LISTS:
                present = {item.value for item in lists[key]}
                for i, item in enumerate(value):
                    if item not in present:
                        lists[key].append(Sourced(item, layer.origin(key, i)))
                        present.add(item)
            elif key in TIGHTENING and not layer.trusted:
                order = TIGHTENING[key]
                if order.index(value) > order.index(scalars[key].value):
                    scalars[key] = Sourced(value, layer.origin(key))
            elif key != "version":
                scalars[key] = Sourced(value, layer.origin(key))
        return EffectivePolicy(scalars, lists, protected, [*self.layers, layer.label])

    # Typed views of the values the engine uses.

    def value(self, key: str) -> Any:
        return self.scalars[key].value

    @property
    def global_constraints(self) -> list[str]:
        return [item.value for item in self.lists["global_constraints"]]

    def items(self, key: str) -> list[str]:
        """A list setting's values, every layer's, in order."""
        return [item.value for item in self.lists[key]]

    @property
    def workspace_env(self) -> dict[str, str]:
        return dict(self.value("workspace.env") or {})

    @property
    def exposed(self) -> list[str]:
        """`sandbox.expose`: paths the sandbox shows read-only (inside the checkout, too)."""
        return self.items("sandbox.expose")

    @property
    def agent(self) -> str | None:
        found = self.value("executor.agent")
        return str(found) if found else None

    @property
    def agent_model(self) -> str | None:
        found = self.value("executor.model")
        return str(found) if found else None

    @property
    def worktrees(self) -> str | None:
        found = self.value("workspace.worktrees")
        return str(found) if found else None

    @property
    def verify_commands(self) -> list[str]:
        return [item.value for item in self.lists["verify.commands"]]

    @property
    def max_diff_lines(self) -> int:
        return int(self.value("behavior.max_diff_lines"))

    @property
    def max_files_changed(self) -> int | None:
        found = self.value("behavior.max_files_changed")
        return int(found) if found is not None else None

    @property
    def timeout_seconds(self) -> int:
        return int(self.value("behavior.timeout_seconds"))

    @property
    def shell_commands(self) -> bool:
        return bool(self.value("behavior.shell_commands"))

    @property
    def max_attempts(self) -> int:
        return int(self.value("behavior.max_attempts"))

    @property
    def verify_timeout_seconds(self) -> int:
        return int(self.value("verify.timeout_seconds"))

    @property
    def approval_below(self) -> float:
        return float(self.value("confidence.approval_below"))

    @property
    def sign(self) -> str:
        return str(self.value("provenance.sign"))

    @property
    def max_result_bytes(self) -> int:
        return int(self.value("behavior.max_result_bytes"))

    @property
    def sandbox_mode(self) -> str:
        return str(self.value("sandbox.mode"))

    @property
    def sandbox_network(self) -> bool:
        return bool(self.value("sandbox.network"))

    @property
    def secret_names(self) -> list[str]:
        return [item.value for item in self.lists["secrets.env"]]

    def to_json(self) -> dict[str, Any]:
        """Every effective value with its origin; the same data as the text view."""
        out: dict[str, Any] = {key: [i.to_json() for i in items] for key, items in self.lists.items()}
        out[PROTECTED] = [{"value": p.text, "origin": p.origin} for p in self.protected.patterns]
        out.update({key: sourced.to_json() for key, sourced in self.scalars.items()})
        return {"layers": self.layers, "values": dict(sorted(out.items()))}


def flatten(policy: PolicyFile) -> dict[str, Any]:
    """The keys a policy layer sets, dotted (`behavior.max_diff_lines`), unset ones left out."""
    out: dict[str, Any] = {}
    for name in type(policy).model_fields:
        value = getattr(policy, name)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            for sub, info in type(value).model_fields.items():
                inner = getattr(value, sub)
                if inner is not None:
                    out[f"{name}.{info.alias or sub}"] = inner
        else:
            out[name] = value
    return out
