"""What a commit is about to change, and which policy applies to it, read through the git CLI.

Two git processes in all, run at once: `git diff --cached` for the staged changes (renames
detected, so both sides are known) and one `git cat-file --batch` for the committed and staged
policy. Respects GIT_INDEX_FILE, so `git commit -a` and `git commit PATH` are checked correctly.
The staged changes are read into plain tuples here (`records`); the Change objects
(conductor.gitdiff) are built only for a commit that is refused.

The git processes are started with os.posix_spawnp, not subprocess: importing subprocess (with
the signal, threading, selectors and locale modules it pulls in) costs more than the git
commands themselves. A failed command is run again through conductor.gitcli, so the error a
user sees is the one every other git command of Conductor's gives. The environment is
gitcli.hardened()'s: no repository hooks, no fsmonitor, no CONDUCTOR_OVERRIDE
(tests/guard/test_fast_path.py keeps the two in step).
"""

from __future__ import annotations

import os

# gitcli.HARDENED and gitcli.OVERRIDE_VARIABLE, without importing gitcli (subprocess, pathlib).
HARDENED = (("core.fsmonitor", "false"), ("core.hooksPath", os.devnull))
OVERRIDE_VARIABLE = "CONDUCTOR_OVERRIDE"
_CHUNK = 1 << 16
SPAWN = hasattr(os, "posix_spawnp")  # not on Windows: there the guard runs git through gitcli


def hardened_env() -> dict[str, str]:
    """os.environ plus GIT_CONFIG_* settings that keep hooks and fsmonitor from running."""
    env = dict(os.environ)
    env.pop(OVERRIDE_VARIABLE, None)
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for key, value in HARDENED:
        env[f"GIT_CONFIG_KEY_{count}"] = key
        env[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


class Git:
    """One running `git ARGS`; `output()` waits for it and returns its stdout."""

    def __init__(self, args: list[str], *, stdin: bytes | None = None, env: dict[str, str]) -> None:
        self.args = args
        self.stdin = stdin
        self.pid = -1  # not started (no posix_spawnp, or git missing): output() runs it as gitcli does
        self._out = -1
        if SPAWN:
            self._start(env)

    def _start(self, env: dict[str, str]) -> None:
        out_r, out_w = os.pipe()
        # stderr is dropped: a failure is reported by running the command again (output()).
        actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
        ]
        in_r = in_w = -1
        if self.stdin is not None:
            in_r, in_w = os.pipe()
            actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
        try:
            self.pid = os.posix_spawnp("git", ["git", *self.args], env, file_actions=actions)
        except OSError:
            self.pid = -1
        finally:
            os.close(out_w)
            if in_r >= 0:
                os.close(in_r)
        if in_w >= 0:
            if self.pid > 0:
                try:  # noqa: SIM105 (contextlib is not imported on this path)
                    os.write(in_w, self.stdin or b"")  # a few short lines: fits in the pipe buffer
                except OSError:
                    pass  # git exited early; its status says why
            os.close(in_w)
        self._out = out_r

    def wait(self) -> bool:
        """Wait for the command, its output unread; whether it succeeded."""
        _read_all(self._out)
        return self._reap()

    def _reap(self) -> bool:
        if self.pid <= 0:
            return False
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status) == 0

    def output(self) -> bytes:
        out = _read_all(self._out)
        if self._reap():
            return out
        # Failed: run it again the usual way, which raises the error gitcli gives for it.
        from conductor.gitcli import git

        return git(self.args, stdin=self.stdin)


def _read_all(fd: int) -> bytes:
    if fd < 0:
        return b""
    chunks = []
    try:
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


POLICY_FILE = ".conductor/policy.yaml"  # conductor.project.POLICY_FILE, without pathlib
DIFF = ["diff", "--cached", "--raw", "-z", "-M", "--no-ext-diff", "--no-color"]
POLICY_SPECS = [f"HEAD:{POLICY_FILE}", f":{POLICY_FILE}"]

Record = tuple[str, str, str | None]
"""One staged change as gitdiff.parse_raw reads it: status letter, path, old path (R and C)."""


class PolicyBlob:
    """A version of the policy file: where it is from, its object id and its text."""

    __slots__ = ("label", "oid", "text")

    def __init__(self, label: str, oid: str, text: bytes) -> None:
        self.label = label
        self.oid = oid
        self.text = text


class Reading:
    """The two git commands, started together; their results are read when needed."""

    def __init__(self) -> None:
        env = hardened_env()
        self._diff = Git(DIFF, env=env)
        self._policy = Git(
            ["cat-file", "--batch"], stdin="".join(f"{s}\n" for s in POLICY_SPECS).encode(), env=env
        )
        self._raw: bytes | None = None

    def raw(self) -> bytes:
        """`git diff --cached --raw -z -M` output (for gitdiff.parse_raw)."""
        if self._raw is None:
            self._raw = self._diff.output()
        return self._raw

    def policy_versions(self) -> list[PolicyBlob]:
        """The committed and the staged policy file (each when present; one if they are equal)."""
        return _policy_versions(self._policy.output())

    def finish(self) -> None:
        """Wait for the staged changes when they are not needed (no policy)."""
        if self._raw is None:
            self._diff.wait()


def records(raw: bytes) -> list[Record]:
    """The changes of `git diff --raw -z` output, one per change as in gitdiff.parse_raw."""
    fields = raw.decode("utf-8", "surrogateescape").split("\0")
    out: list[Record] = []
    i = 0
    n = len(fields)
    while i < n and fields[i]:
        code = fields[i].split(" ", 5)[4][:1]  # ':old_mode new_mode old_oid new_oid STATUS'
        if code in ("R", "C"):
            out.append((code, fields[i + 2], fields[i + 1]))
            i += 3
        else:
            out.append((code, fields[i + 1], None))
            i += 2
    return out


def _policy_versions(out: bytes) -> list[PolicyBlob]:
    found: list[tuple[str, str, bytes]] = []
    pos = 0
    for spec in POLICY_SPECS:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("utf-8", "replace").split()
        pos = end + 1
        if len(header) == 3 and header[1] == "blob":
            size = int(header[2])
            found.append((header[0], spec, out[pos : pos + size]))
            pos += size + 1
    committed = next((f for f in found if f[1].startswith("HEAD:")), None)
    staged = next((f for f in found if not f[1].startswith("HEAD:")), None)
    if committed and staged and committed[0] == staged[0]:
        return [PolicyBlob(POLICY_FILE, staged[0], staged[2])]
    blobs = []
    if committed:
        blobs.append(PolicyBlob(f"HEAD:{POLICY_FILE}", committed[0], committed[2]))
    if staged:
        blobs.append(PolicyBlob(POLICY_FILE, staged[0], staged[2]))
    return blobs
