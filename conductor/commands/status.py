"""`conductor status`: the newest plans and their forks with their states."""

from __future__ import annotations

from conductor.ledger.store import Ledger
from conductor.project import find_root
from conductor.runner.views.status import DEFAULT_LIMIT, StatusReport, collect


def run(*, limit: int | None = DEFAULT_LIMIT) -> StatusReport:
    """The newest `limit` plans (None: every plan, archived ones too)."""
    return StatusReport(collect(Ledger(find_root()), limit=limit))
