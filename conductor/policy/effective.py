"""The effective policy: defaults (models/defaults.py), then project -> plan -> step layers,
each value with its origin.

Merge rules (docs/policy.md):
  * scalars: the later layer wins;
  * `global_constraints` and `verify.commands`: concatenated, in layer order, without repeats;
  * `file_rules.protected_patterns`: each layer adds a layer of protection; none is removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from conductor.models.defaults import DEFAULTS as DEFAULTS  # the one table, read here
from conductor.models.defaults import shown as shown
from conductor.models.policy import PolicyFile
from conductor.models.sizes import parse_size
from conductor.models.source import Location, YamlDocument
from conductor.policy.patterns import Pattern, ProtectedPatterns

LISTS = (
    "global_constraints",
    "verify.commands",
    "secrets.env",
    "workspace.setup",
    "workspace.setup_inputs",
    "workspace.copy",
    "sandbox.expose",
    "sandbox.env",
    "file_rules.review_patterns",
    "file_rules.secrets_allowed",
    "verify.pinned",
)
TIGHTENING: dict[str, list[Any]] = {
    "sandbox.mode": ["off", "auto", "required"],
}
"""Settings a plan or step layer can only make stricter (later in the list); only the project's
own policy file may loosen them."""
LOWERING = ("behavior.max_file_bytes", "behavior.max_change_bytes")
"""Limits a plan or step layer can only lower: they bound what Conductor holds in memory while it
checks a step, and a plan may come from a model."""
PROJECT_ONLY = (
    "workspace.worktrees",
    "workspace.layers",
    "sandbox.expose",
    "sandbox.env",
    "sandbox.unix_sockets",
    "executor.agent",
    "executor.model",
    "file_rules.secrets_allowed",
    "conventions.enabled",
    "conventions.files",
    "conventions.max_file_bytes",
    "conventions.max_bytes",
)
"""Settings only the project's own policy file sets (a plan may come from a model): a plan or
step layer's value is not taken."""
PROTECTED = "file_rules.protected_patterns"
BUILTIN_PROTECTED = (".conductor/", ".git/")
"""Always protected from agent steps (not from humans: the guard uses the files only)."""


@dataclass(frozen=True)
class ConventionRules:
    """`conventions.*`: whether and which convention files prompts quote, and how much of them."""

    enabled: bool
    files: tuple[str, ...]
    max_file_bytes: int
    max_bytes: int


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
            elif key == "sandbox.network" and not layer.trusted:
                if narrower(value, scalars[key].value):
                    scalars[key] = Sourced(value, layer.origin(key))
            elif key in TIGHTENING and not layer.trusted:
                order = TIGHTENING[key]
                if order.index(value) > order.index(scalars[key].value):
                    scalars[key] = Sourced(value, layer.origin(key))
            elif key in LOWERING and not layer.trusted:
                if value < scalars[key].value:
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
    def limits(self) -> dict[str, int | None]:
        """`limits.*` in bytes, counts and seconds (None: no limit)."""
        out: dict[str, int | None] = {}
        for key in ("memory", "processes", "file_size", "cpu_seconds"):
            value = self.value(f"limits.{key}")
            out[key] = None if value is None else parse_size(value) if isinstance(value, str) else int(value)
        return out

    @property
    def sandbox_env(self) -> list[str]:
        """`sandbox.env`: more of your environment that commands get (names or globs)."""
        return self.items("sandbox.env")

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
    def layered(self) -> str:
        """workspace.layers: auto, on or off."""
        return str(self.value("workspace.layers"))

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
    def max_file_bytes(self) -> int:
        return int(self.value("behavior.max_file_bytes"))

    @property
    def max_change_bytes(self) -> int:
        return int(self.value("behavior.max_change_bytes"))

    @property
    def sandbox_mode(self) -> str:
        return str(self.value("sandbox.mode"))

    @property
    def sandbox_network(self) -> bool | list[str]:
        """True (the whole network), False (none) or the hosts allowed."""
        value = self.value("sandbox.network")
        return [str(host) for host in value] if isinstance(value, list) else bool(value)

    @property
    def unix_sockets(self) -> bool:
        """`sandbox.unix_sockets`: with the network shared, commands may make unix sockets."""
        return bool(self.value("sandbox.unix_sockets"))

    @property
    def network_chosen(self) -> bool:
        """Whether a policy file or plan says what the network is (else each executor's default)."""
        return self.scalars["sandbox.network"].origin != "default"

    @property
    def conventions(self) -> ConventionRules:
        return ConventionRules(
            enabled=bool(self.value("conventions.enabled")),
            files=tuple(str(name) for name in self.value("conventions.files")),
            max_file_bytes=int(self.value("conventions.max_file_bytes")),
            max_bytes=int(self.value("conventions.max_bytes")),
        )

    @property
    def secret_names(self) -> list[str]:
        return [item.value for item in self.lists["secrets.env"]]

    def to_json(self) -> dict[str, Any]:
        """Every effective value with its origin; the same data as the text view."""
        out: dict[str, Any] = {key: [i.to_json() for i in items] for key, items in self.lists.items()}
        out[PROTECTED] = [{"value": p.text, "origin": p.origin} for p in self.protected.patterns]
        out.update({key: sourced.to_json() for key, sourced in self.scalars.items()})
        return {"layers": self.layers, "values": dict(sorted(out.items()))}


def narrower(new: Any, current: Any) -> bool:
    """Whether `sandbox.network: new` allows no more than `current` (true > a host list > false)."""
    if new is False or current is True:
        return True
    if isinstance(new, list) and isinstance(current, list):
        return set(new) <= set(current)
    return False


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
