"""Reading many logs at once through `git log`, for `conductor events` over long histories.

libgit2 reads packed commits about twice as slowly as git does, and a separate git process
reads while Python decodes, so for a scan across logs this is ~1.5x faster than walking
with pygit2 (bench/events_scan.py). git orders commits by their second-resolution commit
time (`--date-order`, which also keeps every log's own order); conductor.ledger.stream puts
the events of one second in exact order by their microsecond timestamps.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from conductor.errors import LedgerError

_CHUNK = 1 << 17


def scan(git_dir: Path, refs: Mapping[str, str], *, newest_first: bool) -> Iterator[tuple[str, str, str]]:
    """(commit, log name, message) of the commits of `refs` (log name -> where it starts: the
    ref itself, or an archived tip's commit id), in commit-time order (newest first unless told
    otherwise). The starts go to git on its standard input, so any number of logs fits."""
    if not refs:
        return
    names = {start: name for name, start in refs.items()}
    args = [
        "git",
        "--no-replace-objects",
        f"--git-dir={git_dir}",
        "log",
        "--date-order",
        "--no-show-signature",
        "--no-color",
        "--source",
        "--format=%H%x00%S%x00%B%x00",
    ]
    if not newest_first:
        args.append("--reverse")
    args.append("--stdin")
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdin.write("".join(f"{start}\n" for start in names).encode())
    proc.stdin.close()  # git reads every start before it writes anything
    buffer = b""
    try:
        for chunk in iter(lambda: proc.stdout.read(_CHUNK), b""):  # type: ignore[union-attr]
            parts = (buffer + chunk).split(b"\0")
            usable = (len(parts) - 1) // 3 * 3
            for i in range(0, usable, 3):
                source = parts[i + 1].decode("utf-8", "replace")
                yield (
                    parts[i].lstrip(b"\n").decode("ascii"),
                    names.get(source, source),
                    parts[i + 2].decode("utf-8", "replace"),
                )
            buffer = b"\0".join(parts[usable:])
    finally:
        if proc.poll() is None:  # the reader stopped early (--limit): stop git too
            proc.kill()
        stderr = proc.stderr.read() if proc.stderr else b""
        code = proc.wait()
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    if code != 0:
        raise LedgerError(f"git log failed reading the ledger: {stderr.decode('utf-8', 'replace').strip()}")
