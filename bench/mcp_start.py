"""`conductor mcp`: how long a client waits for its first response, against `conductor --help`
in the same run (goal: under 300 ms), and how much CPU the server spends idle (goal: none).

The first response is the answer to the `initialize` request an IDE sends as soon as it has
started the server (JSON-RPC on stdin and stdout, as every MCP client over stdio speaks it),
timed from starting the process; the rounds of each are run one after the other. Idle is the
server's CPU time (user + system, from /proc/PID/stat) over a few seconds once it serves (it
has listed its tools), with nobody calling.

    python bench/mcp_start.py              5 rounds, 3 s idle
    python bench/mcp_start.py --rounds 1 --idle 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BIN, ENV, git, workdir

GOAL_MS = 300
IDLE_GOAL_MS = 10  # CPU time over the idle window: timer noise, not work
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}


def start(root: Path) -> subprocess.Popen[str]:
    """`conductor mcp` in `root`, answered once: its first response read, the process left running."""
    server = subprocess.Popen(
        [str(BIN / "conductor"), "mcp"],
        cwd=root,
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(json.dumps(INITIALIZE) + "\n")
    server.stdin.flush()
    answer = json.loads(server.stdout.readline())
    if answer.get("id") != 1 or "result" not in answer:
        raise SystemExit(f"conductor mcp did not answer initialize: {answer}")
    return server


def stop(server: subprocess.Popen[str]) -> None:
    assert server.stdin is not None
    server.stdin.close()  # the client goes away: the server ends
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    assert server.stdout is not None
    server.stdout.close()


def first_response(root: Path) -> float:
    """Seconds from starting the server to its answer. It is then terminated, not left to end
    as it does when its client goes away (`stop`), which is neither timed nor what this is about:
    that end waits for the SDK it imports after its first answer, about a second."""
    began = time.perf_counter()
    server = start(root)
    took = time.perf_counter() - began
    server.terminate()
    server.wait()
    for pipe in (server.stdin, server.stdout):
        assert pipe is not None
        pipe.close()
    return took


def help_text(root: Path) -> float:
    began = time.perf_counter()
    subprocess.run([str(BIN / "conductor"), "--help"], cwd=root, env=ENV, capture_output=True, check=True)
    return time.perf_counter() - began


def served(server: subprocess.Popen[str]) -> None:
    """Ask for the tools and read the answer: the server is all loaded and serving."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
    server.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}) + "\n")
    server.stdin.flush()
    if json.loads(server.stdout.readline()).get("id") != 2:
        raise SystemExit("conductor mcp did not list its tools")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(root: Path, seconds: float) -> float:
    """The server's CPU time over `seconds` with nobody calling, once it has answered."""
    server = start(root)
    try:
        served(server)  # the SDK is loaded after the first answer: idling starts once it serves
        time.sleep(0.5)
        before = cpu_seconds(server.pid)
        time.sleep(seconds)
        return cpu_seconds(server.pid) - before
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idling to measure")
    args = parser.parse_args()
    root = workdir("mcp")
    try:
        git(root, "init", "-q")
        git(root, "commit", "-q", "--allow-empty", "-m", "empty")
        first_response(root), help_text(root)  # warm the caches of both
        ours = statistics.median(first_response(root) for _ in range(args.rounds))
        base = statistics.median(help_text(root) for _ in range(args.rounds))
        idle = idle_cpu(root, args.idle)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    first_ok = "ok" if ours * 1000 < GOAL_MS else "OVER GOAL"
    idle_ok = "ok" if idle * 1000 <= IDLE_GOAL_MS else "OVER GOAL"
    print(f"conductor mcp, median of {args.rounds} rounds")
    print(f"  first response:  {ours * 1000:7.0f} ms  (goal < {GOAL_MS} ms: {first_ok})")
    print(f"  conductor --help: {base * 1000:6.0f} ms  ({ours / base:.1f}x)")
    print(
        f"  idle CPU:        {idle * 1000:7.0f} ms in {args.idle:g} s  (goal <= {IDLE_GOAL_MS} ms: {idle_ok})"
    )


if __name__ == "__main__":
    main()
