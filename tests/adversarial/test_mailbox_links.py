"""Links planted in the mailbox (an agent without a sandbox can write there) are replaced or
removed, never followed: Conductor's writes stay inside its own files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from conductor.mailbox import AUDIT_LOG, Mailbox, write_atomic
from conductor.models.event import Event, EventType


def test_a_link_at_a_record_path_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "bashrc"
    outside.write_text("mine\n")
    target = tmp_path / "box" / "step_001.result.problems.txt"
    target.parent.mkdir()
    target.symlink_to(outside)
    write_atomic(target, "problems\n")
    assert outside.read_text() == "mine\n"
    assert not target.is_symlink() and target.read_text() == "problems\n"
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


def test_the_temporary_file_is_fresh_so_a_planted_one_is_never_used(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("mine\n")
    box = tmp_path / "box"
    box.mkdir()
    for pid in range(os.getpid() - 2, os.getpid() + 3):  # names a predictable scheme would use
        (box / f".x.txt.{pid}.{threading.get_ident()}.tmp").symlink_to(outside)
    write_atomic(box / "x.txt", "data\n")
    assert outside.read_text() == "mine\n" and (box / "x.txt").read_text() == "data\n"


def test_a_link_in_place_of_the_audit_log_is_removed_not_appended_to(tmp_path: Path) -> None:
    outside = tmp_path / "profile"
    outside.write_text("mine\n")
    box = Mailbox(tmp_path / "handoff", "p", "f")
    box.root.mkdir(parents=True)
    (box.root / AUDIT_LOG).symlink_to(outside)
    box.append_audit(Event(EventType.NOTE, plan="p", fork="f", summary="hello"))
    assert outside.read_text() == "mine\n"
    log = box.root / AUDIT_LOG
    assert not log.is_symlink() and '"summary":"hello"' in log.read_text()
