"""`conductor status`: every plan and fork with its state."""

from __future__ import annotations

from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.runner.status import StatusReport, collect


def run() -> StatusReport:
    return StatusReport(collect(Ledger(find_root())))
