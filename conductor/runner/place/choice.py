"""Which workspace a fork gets (docs/policy.md, `workspace.layers`): a layered worktree
(layered.py) where it can be one and the policy wants it, else a git worktree (worktree.py).

Layers are for processes Conductor starts in its sandbox — an agent a person drives, the model
executor writing files itself, a remote worker, or a run without bubblewrap work in a real
worktree. `auto` layers only repositories big enough for a checkout per fork to cost (at least
LAYERED_FILES tracked files): in small ones a fork keeps a worktree a person can cd into.
"""

from __future__ import annotations

import struct
from pathlib import Path

from conductor.ledger.store import Ledger
from conductor.models.defaults import LAYERED_FILES
from conductor.policy.effective import EffectivePolicy
from conductor.project import private_state
from conductor.runner.place.layered import Layered, home
from conductor.runner.place.spaces import Workspace
from conductor.runner.place.worktree import fork_worktree
from conductor.sandbox import bwrap, overlay


def fork_workspace(
    *,
    ledger: Ledger,
    repo_root: Path,
    plan: str,
    fork: str,
    policy: EffectivePolicy,
    sandboxed_process: bool,
    live: bool,
) -> tuple[Workspace, str | None]:
    """The fork's workspace, and — when it is not layered though the policy asked for layers
    (`on`), or `auto` would have layered it but the machine cannot mount them — a line that says
    why (None: layered, or nothing worth saying)."""
    worktree = fork_worktree(
        repo_root=repo_root,
        git_dir=ledger.git_dir,
        plan=plan,
        fork=fork,
        configured=policy.worktrees,
        live=live,
    )
    private = private_state(repo_root, ledger.git_dir, configured=policy.worktrees)
    layers = (home(private, plan, fork) / "tip").is_file()
    why, machine = _not_layered(worktree.exists(), layers, policy, sandboxed_process, private, ledger.git_dir)
    layered = Layered(
        worktree.path, repo_root=repo_root, ledger=ledger, private=private, plan=plan, fork=fork
    )
    if why is None:
        return layered, None
    if layers:
        layered.remove()  # it switched to a worktree (another executor): the layers are not its files
    said = policy.layered == "on" or machine
    return worktree, (
        f"a git worktree, not layers (workspace.layers: {policy.layered}): {why}" if said else None
    )


def _not_layered(
    has_worktree: bool,
    has_layers: bool,
    policy: EffectivePolicy,
    sandboxed_process: bool,
    private: Path,
    git_dir: Path,
) -> tuple[str | None, bool]:
    """Why the fork gets no layers (None: it does), and whether only the machine is why. `auto`
    weighs the repository when the fork is made: a layered fork stays so however many files the
    checkout has later (its attempt's change may be waiting for a person in its layers)."""
    if policy.layered == "off":
        return "workspace.layers is off", False
    if has_worktree:
        return "the fork has a worktree already", False
    if not sandboxed_process:
        return "its executor is not a process Conductor starts in its sandbox", False
    if policy.sandbox_mode == "off" or bwrap.unavailable() is not None:
        return ("the sandbox is off" if policy.sandbox_mode == "off" else str(bwrap.unavailable())), False
    if policy.layered == "auto" and not has_layers and tracked_files(git_dir) < LAYERED_FILES:
        return f"the repository has fewer than {LAYERED_FILES:,} tracked files", False
    why = overlay.unavailable(private)
    return why, why is not None


def tracked_files(git_dir: Path) -> int:
    """How many files the checkout's index holds, from its header (O(1); a split index's shared
    part holds most of them)."""
    counts = [0]
    for index in [git_dir / "index", *git_dir.glob("sharedindex.*")]:
        try:
            with index.open("rb") as handle:
                header = handle.read(12)
        except OSError:
            continue
        if len(header) == 12 and header[:4] == b"DIRC":
            counts.append(struct.unpack(">I", header[8:12])[0])
    return max(counts)
