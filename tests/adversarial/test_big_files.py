"""Files too big to check, through the real CLI: an executor's file over behavior.max_file_bytes
(a sparse one of tens of GiB, which costs no disk and counts by its apparent size), a change over
behavior.max_change_bytes, a remote worker's blob over the limit. Each rejects the attempt naming
the file, its size and the limit — and Conductor never reads it: no object of its size is made,
the rejected patch leaves it out, and the plan goes on to the next attempt."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, SANDBOX_MODES, git
from tests.scenario import Project, build

GIB = 1 << 30
MIB = 1 << 20


def by_attempt(proj: Project, first: str, then: str) -> str:
    """A hostile agent: shell `first` at attempt 1, `then` at the next. The attempt is read from
    the task, whose top-level keys are indented by two spaces (a repair's are deeper)."""
    script = proj.scripts / "agent.sh"
    first_attempt = 'grep -q \'^  "attempt": 1,$\' "$CONDUCTOR_TASK_FILE"'
    script.write_text(f"#!/bin/sh\nset -e\nif {first_attempt}; then\n{first}\nelse\n{then}\nfi\n")
    script.chmod(0o755)
    return str(script)


def sparse(path: str, size: int) -> str:
    """Shell: make `path` a file of `size` bytes that uses no disk (a hole)."""
    return f'{PYTHON} -c \'import os; open("{path}", "ab").close(); os.truncate("{path}", {size})\''


def object_sizes(root: Path) -> dict[str, int]:
    """Every object in the repository (the ledger, the branches, all): id -> size."""
    out = git(root, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objectsize)")
    return {oid: int(size) for oid, size in (line.split() for line in out.splitlines())}


def verdict(proj: Project, attempt: int = 1) -> dict:
    return json.loads(proj.record(f"evidence/step_001/attempt_{attempt}/verdict.json"))


def said(found: dict) -> list[str]:
    return [found["reason"], *(f"{v['path']}: {v['detail']}" for v in found["violations"])]


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@pytest.mark.parametrize("sandbox", SANDBOX_MODES)
def test_a_sparse_file_of_tens_of_gib_is_rejected_by_its_size_without_being_read(
    proj: Project, run_cli, sandbox: str
) -> None:
    proj.sandbox(sandbox)
    # the project lets its agents write files this big (limits.file_size, 4G by default): Conductor
    # still reads none of it
    policy = proj.root / ".conductor" / "policy.yaml"
    policy.write_text(policy.read_text() + "\nlimits:\n  file_size: 64G\n")
    (proj.root / "notes.txt").write_text("notes\n")
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-q", "-m", "notes; big files allowed")
    plan = proj.plan([{"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["**"]}])
    # attempt 1: a new 40 GiB file, and a tracked file grown to 20 GiB; attempt 2: honest
    honest = "printf 'x = 1\\n' > new.py"
    first = "\n".join([honest, sparse("big.bin", 40 * GIB), sparse("notes.txt", 20 * GIB)])
    result = build(run_cli, proj, plan, by_attempt(proj, first, honest))

    assert result.code == 0, result.err  # the repair is accepted: the plan finished
    found = verdict(proj)
    assert found["failure"] == "Constraint violation"
    big = "big.bin: 42949672960 bytes (40.0 GiB), over behavior.max_file_bytes 8388608 bytes (8.0 MiB)"
    assert any(line.startswith(big) for line in said(found))
    assert any(line.startswith("notes.txt: 21474836480 bytes (20.0 GiB), over") for line in said(found))
    assert "raise behavior.max_file_bytes" in found["hint"]
    assert "big.bin: 42949672960 bytes" in result.err
    # never read: no object of its size, none but small ones at all; the patch leaves it out
    assert max(object_sizes(proj.root).values()) < MIB
    patch = proj.record("evidence/step_001/attempt_1/rejected.patch")
    assert "new.py" in patch and "big.bin" not in patch and "notes.txt" not in patch
    branch = proj.branch()
    assert git(proj.root, "ls-tree", "--name-only", branch).split().count("big.bin") == 0
    assert git(proj.root, "show", f"{branch}:notes.txt") == "notes\n"
    assert not (proj.worktree() / "big.bin").exists()  # the failed attempt was reset
    assert run_cli("explain", "step_001").code == 0 and run_cli("status").code == 0


def test_a_file_at_the_limit_is_taken_one_byte_more_is_not(proj: Project, run_cli) -> None:
    # a plan may lower the limit (never raise it: tests/policy/test_effective.py)
    plan = proj.plan(
        [{"title": "Write data.txt", "instruction": "Write data.txt", "allowed_files": ["data.txt"]}],
        policy={"behavior": {"max_file_bytes": 4096}},
    )
    line = "x" * 63 + "\\n"  # 64 bytes a line
    over = f"printf '{line * 64}' > data.txt; printf 'y' >> data.txt"  # 4097 bytes
    at = f"printf '{line * 64}' > data.txt"  # 4096 bytes
    result = build(run_cli, proj, plan, by_attempt(proj, over, at))

    assert result.code == 0, result.err
    assert "data.txt: 4097 bytes (4.0 KiB), over behavior.max_file_bytes 4096 bytes (4.0 KiB): not read" in (
        said(verdict(proj))
    )
    assert len(git(proj.root, "show", f"{proj.branch()}:data.txt")) == 4096


def test_a_change_over_max_change_bytes_is_rejected_unread(proj: Project, run_cli) -> None:
    plan = proj.plan(
        [{"title": "Write parts", "instruction": "Write parts", "allowed_files": ["part*"]}],
        policy={"behavior": {"max_file_bytes": 3 * MIB, "max_change_bytes": 4 * MIB}},
    )
    # three sparse files each under the per-file limit, together over the change's
    many = "\n".join(sparse(f"part{n}", 2 * MIB) for n in range(3))
    result = build(run_cli, proj, plan, by_attempt(proj, many, "printf 'x\\n' > part0"))

    assert result.code == 0, result.err
    assert (
        "(change): the changed files hold 6291456 bytes (6.0 MiB) together, over"
        " behavior.max_change_bytes 4194304 bytes (4.0 MiB): not read"
    ) in said(verdict(proj))
    assert "raise behavior.max_change_bytes" in verdict(proj)["hint"]
    assert max(object_sizes(proj.root).values()) < MIB


def test_a_big_tracked_file_written_back_unchanged_is_no_change(proj: Project, run_cli) -> None:
    (proj.root / "data.bin").write_bytes(bytes(range(256)) * 400)  # 100 KiB, over the step's limit
    git(proj.root, "add", "data.bin")
    git(proj.root, "commit", "-q", "-m", "data")
    plan = proj.plan(
        [{"title": "Write new.py", "instruction": "Write new.py", "allowed_files": ["new.py"]}],
        policy={"behavior": {"max_file_bytes": 4096, "max_attempts": 1}},
    )
    # the same bytes written again (a formatter, a checkout): looked at by hashing, streamed
    same = "cp data.bin data.tmp && cat data.tmp > data.bin && rm data.tmp && printf 'x = 1\\n' > new.py"
    result = build(run_cli, proj, plan, by_attempt(proj, same, same))
    assert result.code == 0, result.err
    assert git(proj.root, "show", f"{proj.branch()}:new.py") == "x = 1\n"


@pytest.mark.slow  # a coordinator and a worker in another clone
def test_a_remote_workers_big_blob_is_refused_from_its_header(proj: Project, tmp_path: Path) -> None:
    from tests.runner.test_remote import coordinate, work_until_done

    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(proj.root, "remote", "add", "origin", str(remote))
    git(proj.root, "push", "-q", "origin", "HEAD")
    clone = tmp_path / "worker"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    plan = proj.plan([{"title": "Write a.txt", "instruction": "Write a.txt", "allowed_files": ["**"]}])
    # attempt 1: 64 MiB of zeros (under 100 KB on the wire), over the default 8 MiB; then honest
    honest = "printf 'a\\n' > a.txt"
    agent = by_attempt(proj, f"{honest}\n{sparse('zeros.bin', 64 * MIB)}", honest)

    coordinator = coordinate(proj, plan)
    done = work_until_done(coordinator, clone, agent, "far-away")
    _, err = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, err
    assert [d["attempt"] for d in done] == [1, 2]
    refused = (
        "the worker's change has zeros.bin of 67108864 bytes, over behavior.max_file_bytes (8388608 bytes)"
    )
    assert refused in err
    assert refused in verdict(proj)["reason"]
    # the blob came with the worker's commit, and nothing Conductor made holds or names it
    big = [oid for oid, size in object_sizes(proj.root).items() if size == 64 * MIB]
    reachable = subprocess.run(
        ["git", "rev-list", "--objects", "--all"], cwd=proj.root, capture_output=True, text=True, check=True
    ).stdout
    assert big and not any(oid in reachable for oid in big)
    assert git(proj.root, "show", f"{proj.branch()}:a.txt") == "a\n"
    assert "zeros.bin" not in git(proj.root, "ls-tree", "-r", "--name-only", proj.branch())


def test_a_workers_blob_is_measured_by_its_header_before_anything_is_applied(
    repo: Path, tmp_path: Path
) -> None:
    from conductor.errors import ConductorError
    from conductor.executors.queue import Queue
    from conductor.executors.remote import apply_changes

    parent = git(repo, "rev-parse", "HEAD").strip()
    (repo / "a.txt").write_text("a\n")
    (repo / "big.bin").write_bytes(b"\0" * 5000)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "worker")
    commit = git(repo, "rev-parse", "HEAD").strip()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    queue = Queue(repo, "origin")
    with pytest.raises(ConductorError, match=r"big\.bin of 5000 bytes, over behavior\.max_file_bytes \(4096"):
        apply_changes(queue, workspace, parent, commit, file_limit=4096)
    with pytest.raises(
        ConductorError, match=r"holds 5002 bytes in its files, over behavior\.max_change_bytes"
    ):
        apply_changes(queue, workspace, parent, commit, file_limit=8192, change_limit=5001)
    assert list(workspace.iterdir()) == []  # refused before any of it was written
    assert sorted(apply_changes(queue, workspace, parent, commit, file_limit=5000)) == ["a.txt", "big.bin"]
    assert (workspace / "big.bin").stat().st_size == 5000
