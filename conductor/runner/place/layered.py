"""A layered worktree (spaces.Workspace): a sandboxed fork's files as layers a launch mounts
(sandbox/overlay.py) at the fork's usual worktree path — the repository's shared base checkout
(base.py), the fork's delta from it, and the attempt's own upper directory — so that making a
fork, resetting it after a rejection and reading its change cost what its steps touch, not
what the repository holds (docs/storage.md, Worktrees).

Under `<state>/layers/<plan>/<fork>/`: `delta/` (diff(base commit -> fork tip) as files and
whiteouts), `tip` (the commit the delta is), `attempt/` (what the current attempt wrote: the
kernel's upper directory), `admin/` (HEAD, the index of the tip and the executor's scratch
patterns, for the sandbox's private git). On the host the worktree path is an empty directory:
only the sandboxed processes see the files there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pathspec

from conductor.errors import ConductorError
from conductor.gitcli import git
from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.ledger.tree import Entry
from conductor.policy.effective import EffectivePolicy
from conductor.runner.place import base, detection, workspace
from conductor.runner.place.layerparts import LayerIgnored, LayerSpot
from conductor.runner.place.workspace import Prepared
from conductor.sandbox import overlay
from conductor.sandbox.confinement import Confinement
from conductor.sandbox.gitview import SCRATCH_FILE

ZERO = "0" * 40
PENDING = "pending"  # in admin/: paths accepted steps changed that its index does not say yet


def home(private: Path, plan: str, fork: str) -> Path:
    """Where a fork's layers are kept."""
    return private / "layers" / plan / fork


class Layered:
    """A fork's workspace as layers over the repository's base checkout."""

    def __init__(self, path: Path, *, repo_root: Path, ledger: Ledger, private: Path, plan: str, fork: str):
        self.path = path
        self.repo_root = repo_root
        self.ledger = ledger
        self.private = private
        self.home = home(private, plan, fork)
        self.branch = refs.code_branch(plan, fork)

    @property
    def delta(self) -> Path:
        return self.home / "delta"

    @property
    def attempt(self) -> Path:
        return self.home / "attempt"

    @property
    def admin(self) -> Path:
        return self.home / "admin"

    @property
    def prepared(self) -> Path:
        """The workspace layer: what workspace.copy and workspace.setup left (a venv, .env)."""
        return self.home / "workspace"

    def layers(self, *, throwaway: bool = False) -> overlay.Layers:
        """How a launch mounts it: the attempt's upper over the delta and the base (`throwaway`:
        verify commands, whose writes are thrown away)."""
        found = base.find(self.private)
        if found is None:
            raise ConductorError(f"the base checkout of {self.private} is missing", hint="run the fork again")
        return overlay.Layers((self.delta, self.prepared, found.files), self.attempt, throwaway=throwaway)

    def exists(self) -> bool:
        return (self.home / "tip").is_file() and base.find(self.private) is not None

    def tip(self) -> str:
        """The commit the delta is: the fork tip its files show."""
        return (self.home / "tip").read_text(encoding="ascii").strip()

    def create(self, branch: str) -> bool:
        tip = self.ledger.points_at(branch)
        if tip is None:
            raise ConductorError(f"the fork branch {branch} is missing")
        found = self._base(tip)
        if self.exists():
            if self._basis() != found.commit:  # the base moved since: the same files, from it
                self._build(found, self.tip())
            return False
        shutil.rmtree(self.home, ignore_errors=True)
        self.admin.mkdir(parents=True)
        (self.admin / "HEAD").write_text(f"ref: {branch}\n", encoding="utf-8")
        self._build(found, tip)
        self._reset_attempt()
        self.prepared.mkdir()
        self.path.mkdir(parents=True, exist_ok=True)  # where its processes start, seeing the layers
        return True

    def _base(self, tip: str) -> base.Base:
        """The base checkout, made or moved to `tip` when it is far from it, and held."""
        git_dir = self.ledger.git_dir
        found = base.ensure(self.private, repo_root=self.repo_root, git_dir=git_dir, commit=tip)
        if found.commit != tip and len(self._difference(found, tip)) >= base.MOVES_AFTER:
            found = base.move(self.private, repo_root=self.repo_root, git_dir=git_dir, commit=tip) or found
        base.hold(self.private)
        return found

    def _difference(self, found: base.Base, tip: str) -> list[str]:
        """The paths where `tip` differs from the base checkout's commit."""
        return self.ledger.changed_paths(self.ledger.tree_of(found.commit), self.ledger.tree_of(tip))

    def _basis(self) -> str:
        """The base commit the delta was made from."""
        try:
            return (self.home / "basis").read_text(encoding="ascii").strip()
        except OSError:
            return ""

    def _build(self, found: base.Base, tip: str) -> None:
        """The delta and the index for `tip`, from the base: O(the difference)."""
        shutil.rmtree(self.delta, ignore_errors=True)
        self.delta.mkdir(parents=True)
        changed = self._difference(found, tip)
        self._apply(tip, changed)
        self._whole_index(found, tip, changed)
        (self.home / "tip").write_text(tip + "\n", encoding="ascii")
        (self.home / "basis").write_text(found.commit + "\n", encoding="ascii")

    def _whole_index(self, found: base.Base, tip: str, changed: Sequence[str]) -> None:
        """The index of `tip`: the base's, with the entries of the difference set (the base's
        own file, linked, when there is none: only git writes an index, by replacing it)."""
        making = self.admin / f"index.new-{os.getpid()}"
        making.unlink(missing_ok=True)
        if changed:
            shutil.copyfile(found.index, making)
            self._index(making, tip, changed)
        else:
            os.link(found.index, making)
        os.replace(making, self.admin / "index")
        (self.admin / PENDING).unlink(missing_ok=True)

    def _settle_index(self) -> None:
        """The index brought up to the tip: the paths accepted steps changed since, set."""
        try:
            paths = (self.admin / PENDING).read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        except FileNotFoundError:
            return
        making = self.admin / f"index.sync-{os.getpid()}"
        shutil.copyfile(self.admin / "index", making)
        self._index(making, self.tip(), sorted(set(paths)))
        os.replace(making, self.admin / "index")
        (self.admin / PENDING).unlink()

    def _apply(self, tip: str, paths: Iterable[str]) -> None:
        """Make the delta say `paths` as they are at `tip`: the file, or a whiteout where the
        base has one the tip does not."""
        found = base.find(self.private)
        assert found is not None
        for rel in sorted(paths, key=lambda p: (p.count("/"), p)):
            kind, entry = self.ledger.entry(tip, rel)
            target = self.delta / rel
            _clear(target)
            if kind == "blob" and entry is not None:
                _parent(self.delta, rel)
                _write(target, entry)
            elif kind == "none" and os.path.lexists(found.files / rel):
                _parent(self.delta, rel)
                overlay.whiteout(target)

    def _index(self, index: Path, tip: str, paths: Iterable[str]) -> None:
        """The entries of `paths` in the index file `index` set as they are at `tip` (or removed)."""
        lines = []
        for rel in paths:
            found = self.ledger.find(tip, rel)
            lines.append(
                f"{found.mode:o} {found.oid}\t{rel}\n" if found.kind == "blob" else f"0 {ZERO}\t{rel}\n"
            )
        if lines:
            git(
                ["-c", "core.splitIndex=false", "update-index", "--index-info"],
                cwd=self.repo_root,
                env={"GIT_DIR": str(self.ledger.git_dir), "GIT_INDEX_FILE": str(index)},
                stdin="".join(lines).encode("utf-8", "surrogateescape"),
            )

    def _reset_attempt(self) -> None:
        gone = self.home / f"attempt.gone-{os.getpid()}"
        if self.attempt.exists():
            os.replace(self.attempt, gone)
            shutil.rmtree(gone, ignore_errors=True)
        self.attempt.mkdir()

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        if self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def reset(self) -> None:
        """Back to the fork tip: the attempt's upper directory goes (O(what it wrote)), and the
        delta is made again if the branch moved without it (a crash between the two)."""
        tip, found = self.ledger.points_at(self.branch), base.find(self.private)
        if tip is not None and found is not None and tip != self.tip():
            self._build(found, tip)
        self._reset_attempt()

    def refresh_index(self) -> None:
        """The index of the tip the delta is, again (O(the difference))."""
        found = base.find(self.private)
        if found is not None:
            tip = self.tip()
            self._whole_index(found, tip, self._difference(found, tip))

    def advance(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """The accepted commit is the tip now: its change goes into the delta, the attempt's
        upper directory goes."""
        tip = self.ledger.points_at(self.branch)
        if tip is None:
            return
        paths = [path for _, _, path in entries]
        self._apply(tip, paths)
        self._reset_attempt()
        (self.home / "tip").write_text(tip + "\n", encoding="ascii")
        with (self.admin / PENDING).open("a", encoding="utf-8", errors="surrogateescape") as pending:
            pending.writelines(f"{path}\n" for path in paths)

    def sync_index(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Nothing now: advance() noted the paths, and the next launch sets them (the index is
        written whole, O(files): only when a step will read it, never after a fork's last)."""

    def link_intact(self, git_dir: Path) -> bool:
        return True  # its `.git` is the sandbox's, made for each launch

    def restore_link(self, git_dir: Path) -> None:
        return None

    def declare_scratch(self, patterns: Sequence[str]) -> None:
        text = "".join(f"{pattern}\n" for pattern in patterns)
        (self.admin / SCRATCH_FILE).write_text(text, encoding="utf-8")

    def _scratch(self) -> pathspec.GitIgnoreSpec | None:
        try:
            lines = (self.admin / SCRATCH_FILE).read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None

    def watch(self) -> detection.Watcher | None:
        return None  # what an attempt wrote is its upper directory: changed_paths() is exact

    def changed_paths(self) -> set[str]:
        """Everything the attempt's upper directory holds (O(what it wrote)): files, links,
        whiteouts, and the directories that are new or replace the tip's whole."""
        out: set[str] = set()
        tip = self.tip()
        for dirpath, dirnames, filenames in os.walk(self.attempt):
            folder = Path(dirpath).relative_to(self.attempt).as_posix()
            prefix = "" if folder == "." else folder + "/"
            out.update(prefix + name for name in filenames)
            for name in dirnames:
                full = Path(dirpath) / name
                whole = full.is_symlink() or overlay.is_opaque(full)
                if whole or self.ledger.find(tip, prefix + name).kind != "tree":
                    out.add(prefix + name)
        return out

    def read_changes(
        self,
        ledger: Ledger,
        parent: str,
        candidates: Iterable[str],
        *,
        limits: detection.Limits | None = None,
    ) -> detection.ChangedFiles:
        """The attempt's change: what its upper directory holds, read as detection reads a
        worktree, and its whiteouts (and what an opaque directory or a file hides) as deletions."""
        upper, scratch = self.attempt, self._scratch()
        present, deleted = set(), set()
        for rel in set(candidates):
            full = upper / rel
            if overlay.is_whiteout(full):
                deleted.add(rel)
            elif not os.path.lexists(full):
                continue  # not written in this attempt: as at the tip
            elif full.is_dir() and not full.is_symlink() and not overlay.is_opaque(full):
                if ledger.find(parent, rel).kind != "tree":
                    present.add(rel)
            else:
                present.add(rel)
        ignored = LayerIgnored(self, parent)
        snap = detection.read_changes(
            upper,
            ledger,
            parent,
            present,
            limits=limits,
            rules=(workspace.recorded(self.admin / workspace.MARKER), scratch, ignored),
        )
        for rel in sorted(deleted):
            if ".git" in rel.split("/"):
                snap.git_paths.append(rel)
            else:
                _deleted(ledger, parent, rel, snap)
        for rel in present:  # a file or link in place of a directory of the tip
            full = upper / rel
            if not (full.is_dir() and not full.is_symlink()) and ledger.find(parent, rel).kind == "tree":
                _deleted(ledger, parent, rel, snap)
        return snap

    def restore(self, files: Mapping[str, Entry | None]) -> None:
        """Write `files` into the attempt's upper directory (None: a whiteout where the tip has one)."""
        tip = self.tip()
        for rel, entry in files.items():
            target = self.attempt / rel
            _clear(target)
            _parent(self.attempt, rel)
            if entry is not None:
                _write(target, entry)
            elif self.ledger.find(tip, rel).kind != "none":
                overlay.whiteout(target)

    def confined(self, confinement: Confinement, *, verify: bool = False) -> Confinement:
        """Mounted for each of its processes: the attempt's upper written by the executor and the
        setup, read-only under a throwaway one for verify commands."""
        self._settle_index()
        return replace(confinement, layers=self.layers(throwaway=verify), git_admin=self.admin)

    def prepare(self, policy: EffectivePolicy, confinement: Confinement, timeout: float) -> Prepared | None:
        """The copies written into the workspace layer, and the setup commands run with it as
        their upper directory (over the delta and the base): what they leave is its own layer,
        under every attempt's, never a change."""
        found = base.find(self.private)
        if found is None or confinement.layers is None:
            return None
        setup = replace(confinement, layers=overlay.Layers((self.delta, found.files), self.prepared))
        return workspace.prepare(LayerSpot(self), self.path, self.repo_root, policy, setup, timeout)


def _deleted(ledger: Ledger, parent: str, rel: str, snap: detection.ChangedFiles) -> None:
    """`rel` gone from the tip `parent`: the file, or every file under the folder."""
    kind = ledger.find(parent, rel).kind
    if kind == "blob":
        snap.files.setdefault(rel, None)
    elif kind == "tree":
        for tracked in ledger.files_under(parent, rel):
            snap.files.setdefault(tracked, None)


def _clear(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif os.path.lexists(target):
        target.unlink()


def _parent(root: Path, rel: str) -> None:
    """The directories above `rel` in a layer, each a directory (not a whiteout or a file)."""
    here = root
    for part in rel.split("/")[:-1]:
        here = here / part
        if os.path.lexists(here) and not (here.is_dir() and not here.is_symlink()):
            here.unlink()
        here.mkdir(exist_ok=True)


def _write(target: Path, entry: Entry) -> None:
    mode, data = entry
    if mode == 0o120000:
        os.symlink(data.decode("utf-8", "surrogateescape"), target)
    else:
        target.write_bytes(data)
        os.chmod(target, 0o755 if mode == 0o100755 else 0o644)
