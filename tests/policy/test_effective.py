"""Policy merge: defaults, project -> plan -> step, origins, protections that only grow."""

from __future__ import annotations

from pathlib import Path

from conductor.guard.rules import FILE_RULES_KEYS
from conductor.models.loader import validate
from conductor.models.plan import PlanSpec
from conductor.models.policy import FileRules, PolicyFile
from conductor.models.source import parse
from conductor.policy.effective import DEFAULTS, LISTS, PROTECTED, EffectivePolicy, PolicyLayer, flatten
from conductor.policy.project import effective

PROJECT = """\
global_constraints:
  - 'Never modify files in /core'
file_rules:
  protected_patterns:
    - '*.lock'
    - 'migrations/*'
    - '!migrations/README.md'
behavior:
  max_diff_lines: 500
  timeout_seconds: 300
verify:
  commands: ['pytest -q']
"""

PLAN = """\
goal: build it
policy:
  global_constraints: ['Always include tests for new functions', 'Never modify files in /core']
  file_rules:
    protected_patterns: ['!*.lock', 'docs/']
  behavior:
    max_diff_lines: 200
steps:
  - title: first
    instruction: do it
    policy:
      behavior:
        timeout_seconds: 60
      verify:
        commands: ['ruff check .']
      file_rules:
        protected_patterns: ['!migrations/*', 'setup.py']
"""


def layers(tmp_path: Path) -> tuple[PolicyLayer, PolicyLayer, PolicyLayer]:
    project_doc = parse(PROJECT, path=".conductor/policy.yaml")
    plan_doc = parse(PLAN, path="plan.yaml")
    plan = validate(plan_doc, PlanSpec)
    assert plan.policy is not None and plan.forks[0].steps[0].policy is not None
    return (
        PolicyLayer(".conductor/policy.yaml", validate(project_doc, PolicyFile), project_doc),
        PolicyLayer("plan", plan.policy, plan_doc, ("policy",)),
        PolicyLayer("step step_001", plan.forks[0].steps[0].policy, plan_doc, ("steps", 0, "policy")),
    )


def test_scalars_later_wins_with_origin(tmp_path: Path) -> None:
    project, plan, step = layers(tmp_path)
    merged = EffectivePolicy.merge(project, plan, step)
    assert merged.max_diff_lines == 200
    assert merged.scalars["behavior.max_diff_lines"].origin == "plan.yaml:7"
    assert merged.timeout_seconds == 60
    assert merged.scalars["behavior.timeout_seconds"].origin == "plan.yaml:13"
    assert merged.max_attempts == 2
    assert merged.scalars["behavior.max_attempts"].origin == "default"
    assert merged.layers == ["default", ".conductor/policy.yaml", "plan", "step step_001"]


def test_lists_concatenate_in_layer_order_without_repeats(tmp_path: Path) -> None:
    merged = EffectivePolicy.merge(*layers(tmp_path))
    assert merged.global_constraints == [
        "Never modify files in /core",
        "Always include tests for new functions",
    ]
    assert [c.origin for c in merged.lists["global_constraints"]] == [
        ".conductor/policy.yaml:2",
        "plan.yaml:3",
    ]
    assert merged.verify_commands == ["pytest -q", "ruff check ."]


def test_protections_only_grow_a_later_negation_unprotects_nothing(tmp_path: Path) -> None:
    project, plan, step = layers(tmp_path)
    merged = EffectivePolicy.merge(project, plan, step)
    hit = merged.protected.check("poetry.lock")
    assert hit is not None and hit.pattern == "*.lock" and hit.origin == ".conductor/policy.yaml:5"
    assert merged.protected.check("migrations/0001.py") is not None
    # a negation re-includes only within its own layer (the project's exception holds)
    assert merged.protected.check("migrations/README.md") is None
    # later layers add protections
    assert merged.protected.check("docs/index.md").origin == "plan.yaml:5"  # type: ignore[union-attr]
    assert merged.protected.check("setup.py").origin == "plan.yaml:17"  # type: ignore[union-attr]
    assert merged.protected.check("src/app.py") is None
    # built-in protections for agents
    assert merged.protected.check(".conductor/policy.yaml").origin == "built-in"  # type: ignore[union-attr]


def test_patterns_have_gitignore_semantics_on_repo_relative_paths(tmp_path: Path) -> None:
    doc = parse("file_rules:\n  protected_patterns: ['/core/', 'secrets/**', '*.pem']\n", path="p.yaml")
    merged = EffectivePolicy.merge(PolicyLayer("p", validate(doc, PolicyFile), doc), builtin=False)
    check = merged.protected.check
    assert check("core/x.py") is not None
    assert check("src/core/x.py") is None  # anchored
    assert check("secrets/a/b.txt") is not None
    assert check("deep/dir/key.pem") is not None
    assert check("keypem") is None


def test_no_policy_file_gives_the_defaults(tmp_path: Path) -> None:
    merged = effective(tmp_path)
    assert merged.max_diff_lines == 500 and merged.timeout_seconds == 300
    assert all(s.origin == "default" for s in merged.scalars.values())
    assert merged.protected.check("package.lock") is None


def test_every_policy_field_has_a_merge_rule() -> None:
    """A new policy field without a default or merge rule would silently vanish."""
    keys = set()
    for name, info in PolicyFile.model_fields.items():
        sub = info.annotation
        inner = [
            a for a in getattr(sub, "__args__", (sub,)) if isinstance(a, type) and hasattr(a, "model_fields")
        ]
        if inner:
            keys |= {f"{name}.{i.alias or f}" for f, i in inner[0].model_fields.items()}
        else:
            keys.add(name)
    assert keys - {"version"} == set(DEFAULTS) | set(LISTS) | {PROTECTED}


def test_guard_knows_every_file_rules_key() -> None:
    assert set(FileRules.model_fields) == FILE_RULES_KEYS


def test_flatten_lists_only_what_a_layer_sets() -> None:
    policy = PolicyFile.model_validate({"behavior": {"max_attempts": 3}})
    assert flatten(policy) == {"behavior.max_attempts": 3}


def _layer(text: str, label: str, *, trusted: bool) -> PolicyLayer:
    doc = parse(text, path=label)
    return PolicyLayer(label, validate(doc, PolicyFile), doc, trusted=trusted)


def test_a_plan_or_step_can_tighten_the_sandbox_but_never_loosen_it() -> None:
    project = _layer("sandbox:\n  mode: auto\n", ".conductor/policy.yaml", trusted=True)
    loosening = _layer("sandbox:\n  mode: off\n  network: true\n", "plan", trusted=False)
    tightening = _layer("sandbox:\n  mode: required\n  network: false\n", "step", trusted=False)

    loose = EffectivePolicy.merge(project, loosening)
    assert (loose.sandbox_mode, loose.sandbox_network) == ("auto", True)
    assert loose.scalars["sandbox.mode"].origin == ".conductor/policy.yaml:2"

    tight = EffectivePolicy.merge(project, loosening, tightening)
    assert (tight.sandbox_mode, tight.sandbox_network) == ("required", False)
    # and once tightened, a later untrusted layer cannot undo it
    again = EffectivePolicy.merge(project, tightening, loosening)
    assert (again.sandbox_mode, again.sandbox_network) == ("required", False)


def test_the_projects_own_policy_can_turn_the_sandbox_off() -> None:
    project = _layer("sandbox:\n  mode: off\n", ".conductor/policy.yaml", trusted=True)
    assert EffectivePolicy.merge(project).sandbox_mode == "off"
    unquoted = _layer("sandbox:\n  mode: off\n", "p", trusted=True)  # YAML reads `off` as false
    assert unquoted.policy.sandbox is not None and unquoted.policy.sandbox.mode == "off"


def test_a_plan_or_step_can_lower_the_memory_limits_but_never_raise_them() -> None:
    assert EffectivePolicy.defaults().max_file_bytes == 8 << 20
    assert EffectivePolicy.defaults().max_change_bytes == 64 << 20
    project = _layer("behavior:\n  max_file_bytes: 100000\n", ".conductor/policy.yaml", trusted=True)
    raising = _layer(
        "behavior:\n  max_file_bytes: 999999999999\n  max_change_bytes: 999999999999\n", "plan", trusted=False
    )
    lowering = _layer("behavior:\n  max_file_bytes: 4096\n  max_change_bytes: 8192\n", "step", trusted=False)

    raised = EffectivePolicy.merge(project, raising)
    assert (raised.max_file_bytes, raised.max_change_bytes) == (100000, 64 << 20)
    assert raised.scalars["behavior.max_file_bytes"].origin == ".conductor/policy.yaml:2"
    lowered = EffectivePolicy.merge(project, raising, lowering)
    assert (lowered.max_file_bytes, lowered.max_change_bytes) == (4096, 8192)
    # the project's own file raises them
    assert (
        EffectivePolicy.merge(
            _layer("behavior:\n  max_file_bytes: 1073741824\n", "p", trusted=True)
        ).max_file_bytes
        == 1 << 30
    )
