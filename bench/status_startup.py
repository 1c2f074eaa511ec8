"""`conductor status` vs `python3 -c "import click"` (target <= 3x): start-up of the command
people run most, on a repository with a few plans."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BIN, ENV, PYTHON, git, interleaved, report, workdir

from conductor.ledger import refs
from conductor.ledger.store import Ledger
from conductor.models.event import Event, EventType


def main() -> None:
    root = workdir("status")
    git(root, "init", "-q")
    ledger = Ledger(root)
    for p in range(3):
        plan = f"plan-{p}"
        ledger.append(
            refs.plan_log(plan),
            Event(EventType.PLAN_CREATED, plan=plan, summary="goal", state="running"),
            {"plan.json": '{"goal": "goal"}'},
        )
        for f in ("a", "b"):
            for s in range(1, 4):
                ledger.append(
                    refs.fork_log(plan, f),
                    Event(
                        EventType.TASK_CREATED,
                        plan=plan,
                        fork=f,
                        step=f"step_{s:03d}",
                        attempt=1,
                        summary="t",
                        state="running",
                    ),
                    {f"pending/step_{s:03d}.task.json": "{}"},
                )
    conductor = str(BIN / "conductor")

    def status() -> None:
        subprocess.run([conductor, "status"], cwd=root, env=ENV, check=True, capture_output=True)

    def click_import() -> None:
        subprocess.run([PYTHON, "-c", "import click"], cwd=root, env=ENV, check=True, capture_output=True)

    ours, base = interleaved(status, click_import, rounds=21)
    report("conductor status (3 plans, 6 forks) vs python3 -c 'import click'", ours, base, 3.0)


if __name__ == "__main__":
    main()
