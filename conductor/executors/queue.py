"""A work queue on a shared git remote: tasks, claims and results are refs, and every one is
created by an atomic compare-and-swap push, so two workers can never claim the same task.

For attempt N of a step, under `refs/conductor/work/<plan>/<fork>/<step>/<N>/` (ledger/refs.py):

  task     a commit whose tree holds `task.json` and whose parent is the code the step
           starts from (so a worker that fetches the task has the code too)
  claim    a commit (parent: the task) whose tree holds `worker.json`: who claimed it
  result   a commit whose tree holds `result.json` and `explanation.md`, and whose parent is
           the worker's code commit (parent: the code the step started from)

Each is pushed with `git push --atomic --force-with-lease=<ref>:` (empty: the ref must not
exist yet); libgit2 has no lease, so this is the git CLI. The remote decides who wins.

The coordinator deletes an attempt's refs (one atomic push of deletions, each leased on the
value it saw) once it has the result, so the queue on the remote holds open work only.
Whoever waits on the queue looks with one `git ls-remote` a round, and pauses between rounds
as `Backoff` says: briefly after a change, longer and longer while nothing happens.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from conductor.errors import ConductorError
from conductor.gitcli import git_text, hardened
from conductor.ledger import refs
from conductor.ledger.identity import Identity, who_commits
from conductor.models import untrusted
from conductor.models.untrusted import UntrustedError

if TYPE_CHECKING:
    from pydantic import BaseModel

    M = TypeVar("M", bound=BaseModel)

NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}  # a worker never waits for a password
FLOOR_SECONDS = 0.05  # the pause between looks right after a change
CAP_SECONDS = 2.0  # the longest pause while nothing changes
FACTOR = 1.5  # the next pause without a change: this much longer (waits overshoot by a third at most)
DELETE_BATCH = 90  # refs deleted by one push (30 attempts' worth)
STREAM_BYTES = 1 << 20  # blobs a fetch inflates in memory at most; bigger ones git streams
QUEUED_AT = "Queued-At"  # the task commit's trailer: when it was queued (seconds since the epoch)


class Backoff:
    """Pauses between looks at the queue: `floor` after a change, `factor` times longer each
    time nothing changed, up to `cap`. `reset()` on any change (a task, a claim, a result)."""

    def __init__(
        self, *, floor: float = FLOOR_SECONDS, cap: float = CAP_SECONDS, factor: float = FACTOR
    ) -> None:
        self.floor = min(floor, cap)
        self.cap = cap
        self.factor = factor
        self.current = self.floor

    def reset(self) -> None:
        self.current = self.floor

    def next(self) -> float:
        """The pause to take now; the next one is `factor` times as long (at most `cap`)."""
        pause = self.current
        self.current = min(self.cap, self.current * self.factor)
        return pause


def claim_order(slots: list[str], worker: str) -> list[str]:
    """`slots` in this worker's own order (a hash of its name and the slot), so that workers
    looking at the same queue mostly try different tasks first instead of racing for one."""
    return sorted(slots, key=lambda slot: hashlib.sha1(f"{worker}\0{slot}".encode()).digest())


class Queue:
    """The queue on `remote`, worked through the repository at `root`."""

    def __init__(self, root: Path, remote: str) -> None:
        self.root = root
        self.remote = remote
        self._identity: Identity | None = None

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[bytes]:
        """git, for the calls whose failure is an answer (a lost lease, a missing object)."""
        return self._run_with(args)

    def _run_with(self, args: list[str], *, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args],
            cwd=self.root,
            input=stdin,
            capture_output=True,
            env=hardened(NO_PROMPT),
            check=False,
        )

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        return git_text(args, cwd=self.root, stdin=stdin, env=NO_PROMPT)

    def check_remote(self) -> None:
        if self._run(["remote", "get-url", self.remote]).returncode != 0:
            raise ConductorError(
                f"there is no git remote '{self.remote}' here",
                hint="add it with `git remote add NAME URL` (see `git remote -v`)",
            )

    def commit(self, files: dict[str, bytes], *, parent: str, message: str) -> str:
        """A commit of `files` (a flat tree) on `parent`."""
        lines = []
        for name, data in sorted(files.items()):
            blob = self.git("hash-object", "-w", "--stdin", stdin=data)
            lines.append(f"100644 blob {blob}\t{name}")
        tree = self.git("mktree", stdin=("\n".join(lines) + "\n").encode())
        return self.commit_tree(tree, parent=parent, message=message)

    def commit_tree(self, tree: str, *, parent: str, message: str) -> str:
        """A commit of `tree` on `parent`, made as every commit of Conductor's is
        (conductor.ledger.identity: the user's identity, else Conductor's)."""
        if self._identity is None:
            self._identity = who_commits(self.root)
        env = {**NO_PROMPT, **self._identity.git_env()}
        return git_text(["commit-tree", tree, "-p", parent], cwd=self.root, stdin=message.encode(), env=env)

    def create(self, ref: str, commit: str, *, requires: dict[str, str] | None = None) -> bool:
        """Create `ref` on the remote pointing at `commit`; False if it exists there,
        or if a ref of `requires` (ref -> commit) no longer points there (a claim requires its
        task: a task the coordinator withdrew cannot be claimed)."""
        required = sorted((requires or {}).items())
        proc = self._run(
            [
                "push",
                "--atomic",
                "--porcelain",
                "--quiet",
                "--no-verify",  # no pre-push hook (hardened() turns hooks off as well)
                f"--force-with-lease={ref}:",
                *[f"--force-with-lease={name}:{oid}" for name, oid in required],
                self.remote,
                f"{commit}:{ref}",
                *[f"{oid}:{name}" for name, oid in required],  # unchanged: only their leases count
            ]
        )
        out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            if "[rejected]" in out or "stale info" in out or "already exists" in out:
                return False
            raise ConductorError(f"cannot push to {self.remote}: {out.strip()[-400:]}")
        return True

    def delete(self, found: dict[str, str]) -> bool:
        """Delete `found` (ref -> the commit seen there) from the remote, each leased on that
        commit; False if the remote refused some (they changed). One
        attempt's refs go in one atomic push; many (a sweep) go DELETE_BATCH at a time, as git
        matches every ref of a push against every one of its refspecs."""
        names = sorted(found)
        done = True
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            leases = [f"--force-with-lease={ref}:{found[ref]}" for ref in batch]
            proc = self._run(
                ["push", "--atomic", "--porcelain", "--quiet", "--no-verify", *leases, self.remote]
                + [f":{ref}" for ref in batch]
            )
            if proc.returncode != 0:
                done = False
        return done

    def listing(self, pattern: str = f"{refs.WORK_PREFIX}*") -> dict[str, str]:
        """Queue refs on the remote: name -> commit."""
        out = self.git("ls-remote", self.remote, pattern)
        refs = {}
        for line in out.splitlines():
            commit, _, name = line.partition("\t")
            refs[name] = commit
        return refs

    def fetch(self, *refs: str) -> None:
        """The commits of `refs` (and what they need) into this repository, without local refs
        (neither a coordinator nor a worker collects the queue's refs). A failure is tried once
        more: fetches run side by side (forks, --jobs), and git's can trip over each other."""
        if not refs:
            return
        # a blob over STREAM_BYTES is written as it arrives, not inflated whole in git's memory: a
        # worker's 512 MiB of zeros is under a megabyte on the wire (behavior.max_file_bytes refuses it)
        stream = ["-c", f"core.bigFileThreshold={STREAM_BYTES}"]
        args = [*stream, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.remote, *refs]
        if self._run(args).returncode != 0:
            time.sleep(0.1)
            self.git(*args)

    def blob(self, spec: str) -> bytes:
        """The content of a blob (`<id>` or `<commit>:<path>`) Conductor made itself."""
        proc = self._run(["cat-file", "blob", spec])
        if proc.returncode != 0:
            raise ConductorError(f"the queue has no object {spec[:60]}")
        return proc.stdout

    def copy_blob(self, blob: str, target: Path) -> None:
        """Write the blob `blob` into the new file `target`, streamed: never whole in memory."""
        with os.fdopen(
            os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), "wb"
        ) as out:
            proc = subprocess.run(
                ["git", "cat-file", "blob", blob],
                cwd=self.root,
                stdout=out,
                stderr=subprocess.PIPE,
                env=hardened(NO_PROMPT),
                check=False,
            )
        if proc.returncode != 0:
            raise ConductorError(f"the queue has no object {blob[:60]}")

    def object(self, spec: str) -> tuple[str, str, int] | None:
        """(id, type, size) of the object `spec` names (`<commit>`, `<commit>:<path>`, `<commit>^`),
        from its header: nothing of its content is read. None when there is none."""
        proc = self._run_with(["cat-file", "--batch-check"], stdin=spec.encode() + b"\n")
        fields = proc.stdout.decode("utf-8", "replace").split()
        if proc.returncode != 0 or len(fields) != 3 or not fields[2].isdigit():
            return None  # `<spec> missing`, `<spec> ambiguous`
        return fields[0], fields[1], int(fields[2])

    def read(
        self,
        commit: str,
        path: str,
        *,
        limit: int,
        what: str = "the queue commit",
        setting: str | None = None,
    ) -> bytes:
        """The file `path` of `commit` (a worker's or a coordinator's: untrusted), of at most
        `limit` bytes, its size taken from the object's header before any of it is read.
        UntrustedError when it is not there, not a file, or too big."""
        name = f"{what} {commit[:12]}"
        if self.object(f"{commit}^{{commit}}") is None:
            raise UntrustedError([f"{name} is not a commit"])
        found = self.object(f"{commit}:{path}")
        if found is None:
            raise UntrustedError([f"{name} has no {path}"])
        oid, kind, size = found
        if kind != "blob":
            raise UntrustedError([f"{name} has a {kind} at {path}, not a file"])
        untrusted.check_size(size, limit=limit, name=f"{path} of {name}", setting=setting)
        proc = self._run(["cat-file", "blob", oid])
        if proc.returncode != 0:
            raise UntrustedError([f"{name}: {path} cannot be read"])
        return proc.stdout

    def read_model(self, commit: str, path: str, model: type[M], *, limit: int, what: str) -> M:
        """The file `path` of `commit` as a `model`: bounded (read), parsed within the bounds of
        models/untrusted.py, validated strictly. UntrustedError saying what is wrong."""
        raw = self.read(commit, path, limit=limit, what=what)
        return untrusted.load_model(model, raw, name=f"{path} of {what} {commit[:12]}", what=f"a {path}")

    def parent(self, commit: str) -> str | None:
        """The first parent of `commit`; None when it has none (or is no commit)."""
        found = self.object(f"{commit}^")
        return found[0] if found is not None and found[1] == "commit" else None
