"""The command executor: Conductor claims each task itself and runs a CLI agent on it.

`--exec "CMD"` runs CMD through the shell in the fork's worktree with the instruction on
stdin and CONDUCTOR_TASK_FILE, CONDUCTOR_WORKSPACE, CONDUCTOR_RESULT_DIR set. CMD runs in a
process group of its own, which is killed (children and all) at the timeout. When CMD writes
no result files, Conductor writes them from its exit code and captured output. What CMD
printed (stdout and stderr, each bounded) is handed back in `assignment.output`; the runner
keeps its end, redacted, as the attempt's evidence.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from conductor.executors.base import Assignment, Outcome
from conductor.executors.preflight import Where, check_command
from conductor.executors.registry import KINDS
from conductor.mailbox import Mailbox, UnsafeFile, read_regular, write_atomic
from conductor.models import untrusted
from conductor.models.layout import COMPLETED, EXPLANATION, FAILED, IN_PROGRESS, RESULT, TASK, WORKER
from conductor.models.result import ResultFile, ResultStatus
from conductor.sandbox.confinement import STOP_GRACE_SECONDS, Launch, kill_group, launch, stop
from conductor.sandbox.limits import hit

OUTPUT_HEAD = 16 * 1024
OUTPUT_TAIL = 48 * 1024


class BoundedOutput:
    """Keeps the first and the last part of a stream: enough to explain, never unbounded."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read(8192), b""):
            room = OUTPUT_HEAD - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail += chunk
            if len(self.tail) > OUTPUT_TAIL:
                cut = len(self.tail) - OUTPUT_TAIL
                self.dropped += cut
                del self.tail[:cut]

    def text(self) -> str:
        middle = f"\n[... {self.dropped} bytes not kept ...]\n" if self.dropped else ""
        return (
            bytes(self.head).decode("utf-8", "replace") + middle + bytes(self.tail).decode("utf-8", "replace")
        )


def kill_leftover(worker_file: Path, *, workspace: Path | None = None) -> bool:
    """Kill what a previous (crashed) run left running; True if something was. The fallback's
    subreaper gets SIGTERM first, to take the processes that left its group down with it.

    The file is in the mailbox, which an agent without a sandbox can write: it is read within
    bounds, and a process group is killed only when its leader is one Conductor started for
    `workspace` (its environment says so), never one an agent named."""
    try:
        info = untrusted.load_object(read_regular(worker_file, limit=64 * 1024), name=worker_file.name)
        pgid = int(info["pgid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if workspace is not None and not _started_for(pgid, workspace):
        return False
    if not info.get("sandboxed"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pgid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and _alive(pgid):
            time.sleep(0.05)
    kill_group(pgid)
    return True


def _started_for(pid: int, workspace: Path) -> bool:
    """Whether process `pid` is one Conductor started for a step in `workspace`."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"CONDUCTOR_WORKSPACE={workspace}".encode() in environ.split(b"\0")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _handover(scratch: Path, task_path: Path) -> tuple[Path, Path]:
    """The task file and the result directory the sandboxed command sees (in its scratch)."""
    handover = scratch / "handover"
    (handover / "result").mkdir(parents=True)
    shutil.copyfile(task_path, handover / "task.json")
    return handover / "task.json", handover / "result"


def _bring_back(source: Path, result_dir: Path, step: str) -> None:
    """Move the command's result and explanation into the mailbox: regular files only (a
    symlink could point anywhere outside the sandbox), each as it is."""
    for suffix in (EXPLANATION, RESULT):  # the result last: it is what Conductor waits for
        path = source / f"{step}{suffix}"
        try:
            data = read_regular(path)
        except FileNotFoundError:
            continue
        except UnsafeFile:  # brought back as it is (a symlink stays one): the runner refuses it
            _copy_as_is(path, result_dir / path.name)
            continue
        write_atomic(result_dir / path.name, data)


def _copy_as_is(source: Path, target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    else:  # a FIFO, a device…: an empty placeholder the runner refuses as not regular
        os.mkfifo(target)


def _wait(proc: subprocess.Popen[bytes], assignment: Assignment) -> int:
    """The command's exit code; TimeoutExpired at the deadline or when asked to stop. Woken
    by the exit itself where the system can say (a pidfd), not by polling."""
    with _exit_signal(proc.pid) as ended:
        while True:
            remaining = assignment.remaining()
            if remaining <= 0 or assignment.stop.is_set():
                raise subprocess.TimeoutExpired(proc.args, 0)
            if ended is not None:
                ended.poll(min(remaining, 0.2) * 1000)
            try:
                return proc.wait(timeout=0 if ended is not None else min(remaining, 0.2))
            except subprocess.TimeoutExpired:
                continue


@contextlib.contextmanager
def _exit_signal(pid: int) -> Iterator[select.poll | None]:
    """A poll object that becomes ready when `pid` exits (Linux 5.3+), or None."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        yield None
        return
    try:
        ended = select.poll()
        ended.register(fd, select.POLLIN)
        yield ended
    finally:
        os.close(fd)


class CommandExecutor:
    name = "command"
    capabilities = KINDS[name].capabilities
    scratch: tuple[str, ...] = ()
    network_hosts: tuple[str, ...] = ()

    def __init__(self, command: str) -> None:
        self.command = command

    def identity(self) -> tuple[str, str]:
        try:
            program = Path(shlex.split(self.command)[0]).name
        except (ValueError, IndexError):
            program = "command"
        return (f"{program} (conductor command executor)", "command-executor@conductor.invalid")

    def settings(self) -> dict[str, Any]:
        return {"executor": self.name, "exec": self.command}

    def execute(self, assignment: Assignment) -> Outcome:
        step, mailbox, confinement = assignment.step, assignment.mailbox, assignment.confinement
        assert confinement is not None, "the runner says where the command may write"
        assignment.on_claim({"executor": self.name, "command": self.command, "pid": os.getpid()})
        task_path = mailbox.claim(step)
        if task_path is None:  # the mailbox was rebuilt or cleaned: the ledger has the task
            task_path = mailbox.path(IN_PROGRESS, step, TASK)
            write_atomic(task_path, assignment.task.to_json())
        result_dir = mailbox.path(COMPLETED, step, "").parent
        result_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **self.fixed_env(),
            "CONDUCTOR_WORKSPACE": str(assignment.workspace),
            "CONDUCTOR_STEP": step,
            "CONDUCTOR_ATTEMPT": str(assignment.task.attempt),
        }
        with launch(
            confinement, self.command, env=env, inherit=self.inherit, trusted_command=True
        ) as prepared:
            # Under bubblewrap the mailbox is out of sight: the command gets a copy of its task
            # and a result directory of its own, whose files are brought back when it ends.
            handover = _handover(prepared.scratch, task_path) if prepared.scratch else None
            where = handover or (task_path, result_dir)
            prepared.env.update({"CONDUCTOR_TASK_FILE": str(where[0]), "CONDUCTOR_RESULT_DIR": str(where[1])})
            with self.private_files(assignment, prepared) as private_env:
                prepared.env.update(private_env)
                outcome, code, output = self._run(assignment, prepared)
            if prepared.blocked:  # evidence: what it tried to reach and was refused
                note = blocked_note(prepared.blocked)
                output["stderr"] = output.get("stderr", "") + f"\n[conductor: {note}]\n"
                assignment.say(f"{step}: {note}")
            assignment.output.update(output)
            if handover is not None and outcome is Outcome.RESULT:
                _bring_back(handover[1], result_dir, step)
        if outcome is not Outcome.RESULT:
            return outcome
        why = not_started(code, output)
        if why is not None:
            assignment.not_started = f"`{self.command}` could not start: {why}"
            return Outcome.NOT_STARTED
        found = mailbox.find_result(step)
        failure = self.quiet_failure(code, output) if found is None else None
        limit = hit(code, output.get("stderr", "") + output.get("stdout", ""), confinement.limits)
        if found is None:
            self._write_result(assignment, code, output, failure=failure or limit)
        return Outcome.RESULT

    def preflight(self, where: Where) -> None:
        """Whether the command can start where it will run (CannotStart, with the fix, if not)."""
        check_command(self.command, where)

    inherit: tuple[str, ...] = ()
    """Variables of Conductor's environment it gets besides the allowlist's (sandbox.env)."""

    def fixed_env(self) -> dict[str, str]:
        """Variables set to fixed values for it (an agent profile's)."""
        return {}

    @contextlib.contextmanager
    def private_files(self, assignment: Assignment, prepared: Launch) -> Iterator[dict[str, str]]:
        """Files the command needs beside the task (an agent profile's home and prompt), and the
        variables that point at them; removed when it ends."""
        yield {}

    def stdin(self, assignment: Assignment) -> bytes:
        """What the command reads on its standard input: the instruction."""
        return assignment.task.instruction.encode("utf-8")

    def quiet_failure(self, code: int, output: Mapping[str, str]) -> str | None:
        """Why a run that exited 0 failed all the same (an agent profile knows its signs)."""
        return None

    def _run(self, assignment: Assignment, prepared: Launch) -> tuple[Outcome, int, dict[str, str]]:
        """Start the command, feed it the instruction, wait for it within the deadline."""
        step, mailbox = assignment.step, assignment.mailbox
        sandboxed = "in the sandbox" if prepared.isolated else "without a sandbox"
        assignment.say(f"{step}: running `{self.command}` {sandboxed} ({assignment.timeout_note()})")
        started = time.monotonic()
        proc = subprocess.Popen(
            prepared.argv,
            cwd=assignment.workspace,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **prepared.options(),
        )
        worker = mailbox.path(IN_PROGRESS, step, WORKER)
        write_atomic(
            worker,
            json.dumps(
                {"pid": proc.pid, "pgid": proc.pid, "command": self.command, "sandboxed": prepared.isolated}
            ),
        )
        streams = {"stdout": BoundedOutput(), "stderr": BoundedOutput()}
        assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
        readers = [
            threading.Thread(target=streams[name].feed, args=(pipe,), daemon=True)
            for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr))
        ]
        for reader in readers:
            reader.start()

        def output() -> dict[str, str]:
            for reader in readers:
                reader.join(5)
            return {name: stream.text() for name, stream in streams.items()}

        try:
            proc.stdin.write(self.stdin(assignment))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            code = _wait(proc, assignment)
        except subprocess.TimeoutExpired:
            stop(proc, isolated=prepared.isolated)
            proc.wait()
            if assignment.stop.is_set():
                assignment.say(f"{step}: stopped; command killed")
                return Outcome.STOPPED, -1, output()
            assignment.say(f"{step}: timed out after {time.monotonic() - started:.0f}s; command killed")
            return Outcome.TIMEOUT, -1, output()
        except BaseException:
            stop(proc, isolated=prepared.isolated)
            proc.wait()
            raise
        finally:
            # Whatever the command left running dies with it (its group; the sandbox's PID
            # namespace; the fallback's subreaper got the others already).
            kill_group(proc.pid)
        printed = output()
        with contextlib.suppress(FileNotFoundError):
            worker.unlink()
        assignment.say(f"{step}: command exited with code {code} after {time.monotonic() - started:.1f}s")
        return Outcome.RESULT, code, printed

    def _write_result(
        self, assignment: Assignment, code: int, output: dict[str, str], *, failure: str | None = None
    ) -> None:
        """The command wrote no result: derive one from its exit code and output. An explanation
        it wrote is kept: the exit code and output are added below it, never in its place."""
        step, mailbox = assignment.step, assignment.mailbox
        status = ResultStatus.COMPLETED if code == 0 and failure is None else ResultStatus.FAILED
        summary = f"`{self.command}` exited with code {code}" + (f", but {failure}" if failure else "")
        result = ResultFile(task_id=step, attempt=assignment.task.attempt, status=status, summary=summary)
        directory = status.value
        own = _own_explanation(mailbox, step, limit=assignment.result_limit)
        note = (
            f"Exit code {code}"
            + (f"; {failure}" if failure else "")
            + ". The command wrote no result file; Conductor wrote it from the exit code and output.\n"
        )
        for name, text in output.items():
            if text.strip():
                note += f"\n{name}:\n\n```\n{text.strip()}\n```\n"
        if own is None:
            explanation = f"# {step}: `{self.command}`\n\n{note}"
        else:
            explanation = own.rstrip("\n") + "\n\n---\n\n## Added by Conductor\n\n" + note
        path = mailbox.path(directory, step, RESULT)
        write_atomic(mailbox.path(directory, step, EXPLANATION), explanation)
        write_atomic(path, result.to_json())


def blocked_note(blocked: list[str]) -> str:
    return (
        f"blocked connections (sandbox.network): {', '.join(blocked)} — allow a host with"
        " sandbox: {network: [HOST]} in .conductor/policy.yaml"
    )


def _own_explanation(mailbox: Mailbox, step: str, *, limit: int) -> str | None:
    """An explanation the command wrote without a result (moved out of its folder), if any."""
    for directory in (COMPLETED, FAILED):
        path = mailbox.path(directory, step, EXPLANATION)
        try:
            data = read_regular(path, limit=limit)
        except (FileNotFoundError, UnsafeFile):
            continue
        path.unlink()
        return data.decode("utf-8", "replace")
    return None


# What interpreters say when the script they were given is not there (python, node).
MISSING_SCRIPT = re.compile(r"can't open file .*|Error: Cannot find module .*")


def not_started(code: int, output: Mapping[str, str]) -> str | None:
    """Why the command could not start, when it could not: the shell's 127 (not found) or 126
    (not executable), or an interpreter that cannot open its script; None when it ran."""
    lines = [line.strip() for line in output.get("stderr", "").splitlines() if line.strip()]
    if code in (126, 127):
        what = "not found" if code == 127 else "not executable"
        return f"exit {code} ({what})" + (f": {lines[-1][:300]}" if lines else "")
    if code in (1, 2) and 0 < len(lines) <= 12:
        found = next((m for line in lines[:3] if (m := MISSING_SCRIPT.search(line))), None)
        if found is not None:
            return f"exit {code}: {found.group(0)[:300]}"
    return None
