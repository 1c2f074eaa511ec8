"""The project's policy file, `.conductor/policy.yaml`: loading and validating it."""

from __future__ import annotations

from pathlib import Path

from conductor.models.loader import validate
from conductor.models.policy import PolicyFile
from conductor.models.source import read_file
from conductor.policy.effective import EffectivePolicy, PolicyLayer
from conductor.project import POLICY_FILE


def load_layer(file: Path, *, display: str) -> PolicyLayer:
    """Read and validate a policy file; any problem is a ConfigError naming file, line, field."""
    doc = read_file(file, display=display)
    return PolicyLayer(
        label=display, policy=validate(doc, PolicyFile, schema="policy"), doc=doc, trusted=True
    )


def project_layer(root: Path) -> PolicyLayer | None:
    """The project's policy layer, or None when the project has no policy file."""
    file = root / POLICY_FILE
    if not file.exists() and not file.is_symlink():
        return None
    return load_layer(file, display=POLICY_FILE)


def effective(root: Path, *extra: PolicyLayer) -> EffectivePolicy:
    """Defaults + the project file + any plan/step layers."""
    layers = [layer for layer in (project_layer(root), *extra) if layer is not None]
    return EffectivePolicy.merge(*layers)
