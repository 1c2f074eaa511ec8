"""A private git directory for a sandboxed worktree, so an agent's own git commands work while
the repository's .git stays hidden.

The worktree's `.git` file is covered, inside the sandbox, by one that points here. This git
directory borrows the repository's objects read-only (an alternate) and starts from a copy of
its refs, HEAD and index; whatever the agent's git writes — objects, commits, branches,
stashes, the index — lands here and is thrown away with the step. Conductor takes the step
from the files in the worktree, never from the agent's commits.

It is a git directory as git itself writes one, because the agent's tools read it without git:
GitPython (aider), libgit2 and JGit read packed-refs (a standard header, `^` peeled lines for
annotated tags) and the index (one whole file: version 2, not split) themselves.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from conductor.errors import ConductorError
from conductor.gitcli import git, git_text

# Settings copied from the repository's config: what makes git read its objects and files the
# same way. Nothing else (remotes, credentials, hooks, fsmonitor) reaches the agent.
CORE = "repositoryformatversion|autocrlf|eol|ignorecase|symlinks|precomposeunicode|filemode"
COPIED = rf"^(extensions\..*|core\.({CORE}))$"
STATE_REFS = "refs/conductor/"
SCRATCH_FILE = "conductor-scratch"
"""In the worktree's admin directory: the agent's scratch files (gitignore patterns, one a line),
which its own git ignores too."""


def admin_dir(worktree: Path) -> Path:
    """The worktree's administrative directory, from its `.git` file."""
    dot_git = worktree / ".git"
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConductorError(f"the worktree {worktree} has no readable .git file: {exc}") from None
    if not text.startswith("gitdir: "):
        raise ConductorError(f"{dot_git} does not point at a git directory")
    return Path(text.removeprefix("gitdir: "))


def prepare(scratch: Path, *, worktree: Path, git_dir: Path, admin: Path | None = None) -> Path:
    """Make `scratch/git` for `worktree` and return `scratch/dotgit`, the `.git` file that
    points at it (bound over the worktree's own inside the sandbox). `admin`: where its HEAD,
    index and scratch patterns are, when `worktree` has no `.git` of its own (a layered one)."""
    admin = admin or admin_dir(worktree)
    private = scratch / "git"
    (private / "objects" / "info").mkdir(parents=True)
    (private / "refs" / "heads").mkdir(parents=True)
    (private / "info").mkdir()
    (private / "objects" / "info" / "alternates").write_text(f"{git_dir / 'objects'}\n", encoding="utf-8")
    settings = _settings(git_dir / "config")
    # An identity of its own: its home is not the user's, and its commits are thrown away.
    (private / "config").write_text(
        "[core]\n\tbare = false\n\tlogallrefupdates = true\n"
        "[user]\n\tname = agent (conductor sandbox)\n\temail = agent@sandbox.conductor.invalid\n" + settings,
        encoding="utf-8",
    )
    _copy_refs(git_dir, private)
    shutil.copyfile(admin / "HEAD", private / "HEAD")
    if (git_dir / "shallow").is_file():
        shutil.copyfile(git_dir / "shallow", private / "shallow")  # copied: never written through a link
    _copy_index(admin, private / "index", worktree=worktree)
    excluded = b""
    for source in (git_dir / "info" / "exclude", admin / SCRATCH_FILE):
        with contextlib.suppress(OSError):
            excluded += source.read_bytes().rstrip(b"\n") + b"\n"
    if excluded:
        (private / "info" / "exclude").write_bytes(excluded)
    dot_git = scratch / "dotgit"
    dot_git.write_text(f"gitdir: {private}\n", encoding="utf-8")
    return dot_git


PACKED_HEADER = b"# pack-refs with: peeled sorted \n"
"""The traits git writes, but `fully-peeled`: only refs/tags/ carry their peeled lines here."""


def _copy_refs(git_dir: Path, private: Path) -> None:
    """The repository's refs but Conductor's own, as git keeps them: packed refs stay packed with
    their peeled lines; loose refs are added to packed-refs (what is written per step does not
    grow with the number of plans' branches), but tags, which would need peeling, stay loose
    files, as do symbolic refs."""
    hidden = STATE_REFS.encode()
    refs: dict[bytes, tuple[bytes, bytes | None]] = {}  # name -> (object id, peeled object id)
    with contextlib.suppress(FileNotFoundError):
        last: bytes | None = None
        for line in (git_dir / "packed-refs").read_bytes().splitlines():
            if line.startswith(b"^"):
                if last is not None:
                    refs[last] = (refs[last][0], line[1:].strip())
                continue
            last = None
            oid, _, name = line.partition(b" ")
            if name and not line.startswith(b"#") and not name.startswith(hidden):
                refs[name], last = (oid, None), name
    for name, path in _loose(os.path.join(os.fsencode(git_dir), b"refs"), b"refs", hidden):
        with contextlib.suppress(OSError):
            with open(path, "rb") as file:
                content = file.read().strip()
            if content.startswith(b"ref: ") or name.startswith(b"refs/tags/"):
                target = private / os.fsdecode(name)  # as it is: no peeling needed
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content + b"\n")
                refs.pop(name, None)  # a loose ref overrides its packed copy
            else:
                refs[name] = (content, None)
    lines = b"".join(
        b"%s %s\n" % (oid, name) + (b"^%s\n" % peeled if peeled else b"")
        for name, (oid, peeled) in sorted(refs.items())
    )
    (private / "packed-refs").write_bytes(PACKED_HEADER + lines)


def _loose(directory: bytes, name: bytes, hidden: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(name, path) of each loose ref under `directory` (`name` in git's spelling), but those
    under `hidden` and refs being written (`.lock`). One scandir a directory: `git gc` leaves the
    directory of every branch it packed (refs/heads/conductor/<plan>/ for each plan ever run), so
    this walk is what a launch pays for a long history."""
    try:
        entries = list(os.scandir(directory))
    except OSError:  # gone meanwhile, or unreadable: as os.walk, passed over
        return
    for entry in entries:
        child = name + b"/" + entry.name
        if entry.is_dir(follow_symlinks=False):
            if child + b"/" != hidden:
                yield from _loose(entry.path, child, hidden)
        elif not entry.name.endswith(b".lock"):
            yield child, entry.path


UNSPLIT = "conductor-unsplit-index"
"""In the worktree's admin directory: the last whole version of its split index, and the key of
the index it was made from (the agent's and the verify commands' launches of a step share it)."""


def _copy_index(admin: Path, target: Path, *, worktree: Path) -> None:
    """The worktree's index, whole: copied as it is when git wrote it whole in version 2 (the
    common case); else rewritten so (Conductor keeps the worktree's index split, which only git
    and libgit2 can read) — once for each version of the index. Copied, never linked: an agent
    could write through a link into the worktree's own index."""
    source = admin / "index"
    try:
        with source.open("rb") as file:
            header = file.read(8)
        st = source.stat()
    except FileNotFoundError:
        return
    split = any(entry.name.startswith("sharedindex.") for entry in os.scandir(admin))
    if header == b"DIRC\x00\x00\x00\x02" and not split:
        shutil.copyfile(source, target)
        return
    cache, key_file = admin / UNSPLIT, admin / f"{UNSPLIT}.key"
    key = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    with contextlib.suppress(OSError):
        if key_file.read_text(encoding="ascii") == key and cache.is_file():
            shutil.copyfile(cache, target)
            return
    made = admin / f"{UNSPLIT}.{os.getpid()}.{threading.get_ident()}"
    shutil.copyfile(source, made)
    git(
        ["-c", "core.splitIndex=false", "update-index", "--no-split-index", "--index-version", "2"],
        cwd=worktree,
        env={"GIT_INDEX_FILE": str(made), "GIT_DIR": str(admin)},
    )
    os.replace(made, cache)
    key_file.write_text(key, encoding="ascii")
    shutil.copyfile(cache, target)


def _settings(config: Path) -> str:
    """The settings of COPIED in the repository's `config`, as config text (cached while the
    file does not change: reading it takes a git process)."""
    try:
        st = config.stat()
    except OSError:
        return ""
    return _read_settings(str(config), (st.st_ino, st.st_size, st.st_mtime_ns))


@functools.lru_cache(maxsize=16)
def _read_settings(config: str, version: tuple[int, int, int]) -> str:
    try:
        found = git_text(["config", "--file", config, "--get-regexp", COPIED])
    except ConductorError:  # exit 1: none of them is set
        return ""
    out = []
    for line in found.splitlines():
        key, _, value = line.partition(" ")
        section, _, name = key.rpartition(".")
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'[{section}]\n\t{name} = "{quoted}"\n')
    return "".join(out)
