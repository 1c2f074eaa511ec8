"""Bringing a worktree's index up to an accepted commit in the background.

Updating the index is an O(index) git call; the next step need not wait for it, so it runs in
a thread while the executor already works. It names the committed objects, not files on disk
(Workspace.sync_index), so an executor at work cannot leak edits into it. Whatever next touches
the index (a reset, the next verification) calls `settle()` first.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from conductor.runner.place.spaces import Workspace


class IndexSync:
    """At most one index update in flight; `settle()` waits for it and re-raises its error."""

    def __init__(self, worktree: Workspace) -> None:
        self.worktree = worktree
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, entries: Sequence[tuple[str, str, str]]) -> None:
        """Set these (mode, object id, path) index entries in the background, once the
        workspace shows the commit they are (Workspace.advance, before the next attempt)."""
        self.settle()
        self.worktree.advance(entries)

        def sync() -> None:
            try:
                self.worktree.sync_index(entries)
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=sync, name="index-sync", daemon=True)
        self._thread.start()

    def settle(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error
