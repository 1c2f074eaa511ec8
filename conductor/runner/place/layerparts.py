"""The parts of a layered worktree (layered.py) that read its layers for others: the workspace
layer as workspace.prepare's Spot, and .gitignore for an attempt's new files."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.runner.place import workspace
from conductor.sandbox import overlay

if TYPE_CHECKING:
    from conductor.runner.place.layered import Layered


class LayerSpot:
    """A layered worktree prepared in its workspace layer (workspace.Spot)."""

    def __init__(self, layered: Layered) -> None:
        self.layered = layered

    def marker(self) -> Path:
        return self.layered.admin / workspace.MARKER

    def read(self, name: str) -> bytes | None:
        return resolved(self.layered, name, self.layered.tip())

    def holds(self, name: str) -> bool:
        here = self.layered.prepared / name
        return os.path.lexists(here) or self.layered.ledger.find(self.layered.tip(), name).kind != "none"

    def place(self, name: str) -> Path:
        return self.layered.prepared / name

    def extra(self) -> set[str]:
        """Everything in the layer: new folders whole (`venv/`), files in the tip's folders."""
        out: set[str] = set()
        tip, ledger = self.layered.tip(), self.layered.ledger
        for dirpath, dirnames, filenames in os.walk(self.layered.prepared):
            folder = Path(dirpath).relative_to(self.layered.prepared).as_posix()
            prefix = "" if folder == "." else folder + "/"
            out.update(prefix + name for name in filenames if not overlay.is_whiteout(Path(dirpath) / name))
            for name in list(dirnames):
                if ledger.find(tip, prefix + name).kind != "tree":
                    out.add(prefix + name + "/")
                    dirnames.remove(name)
        return out


class LayerIgnored:
    """.gitignore for a layered attempt's new files: git's own check, run on a tree of just the
    .gitignore files along their paths, each as the attempt sees it."""

    def __init__(self, layered: Layered, parent: str) -> None:
        self.layered = layered
        self.parent = parent

    def __call__(self, paths: list[str]) -> list[str]:
        if not paths:
            return []
        folders = {"/".join(p.split("/")[:depth]) for p in paths for depth in range(p.count("/") + 1)}
        with tempfile.TemporaryDirectory(prefix="ignore-", dir=self.layered.home) as made:
            root = Path(made)
            for folder in sorted(folders):
                rel = f"{folder}/.gitignore" if folder else ".gitignore"
                content = resolved(self.layered, rel, self.parent)
                if content is not None:
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    (root / rel).write_bytes(content)
            try:
                out = git(
                    ["check-ignore", "--no-index", "-z", "--stdin"],
                    cwd=root,
                    env={"GIT_DIR": str(self.layered.ledger.git_dir), "GIT_WORK_TREE": str(root)},
                    stdin="\0".join(paths).encode("utf-8", "surrogateescape"),
                )
            except ConductorError:  # exit 1: nothing is ignored
                return []
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def resolved(layered: Layered, rel: str, parent: str) -> bytes | None:
    """The content of file `rel` as the attempt sees it (its upper directory over the tip)."""
    parts, upper = rel.split("/"), layered.attempt
    for depth in range(1, len(parts)):
        here = upper / "/".join(parts[:depth])
        if os.path.lexists(here) and not (here.is_dir() and not here.is_symlink()):
            return None  # a folder above it deleted, or replaced by a file
        if overlay.is_opaque(here):
            break  # nothing of the tip shows below it
    else:
        if not os.path.lexists(upper / rel):
            kind, entry = layered.ledger.entry(parent, rel)
            return entry[1] if kind == "blob" and entry is not None and entry[0] != 0o120000 else None
    full = upper / rel
    if os.path.lexists(full) and stat.S_ISREG(os.lstat(full).st_mode):
        return full.read_bytes()
    return None
