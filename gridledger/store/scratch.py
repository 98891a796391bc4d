"""A throw-away archive on disk: the finished orders of a ledger nobody journals (issue 12).

``replay`` without ``--db`` used to keep every finished order in a ``MemoryArchive`` for
the whole run (5.7 KB per order: 5.7 GB per million). This archive keeps them in a SQLite
file in a temporary directory instead, read through the same checked code as a journal
(``JournalArchive``), so RAM holds only live orders and SQLite's page cache while a replay
after a week of messages is still recognised. The file goes away on ``close()``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gridledger.ledger.changes import ChangeSet, MemoryArchive
from gridledger.ledger.ledger import Ledger
from gridledger.store.archive import JournalArchive
from gridledger.store.schema import connect
from gridledger.store.snapshot import write_changes

# Pieces of evidence between two writes: a transaction per message would cost more than the
# apply; a ledger folds and evicts only at a write, so this bounds the orders in RAM.
WRITE_EVERY = 200


class ScratchArchive(JournalArchive):
    """Finished orders of ``ledger`` in a temporary SQLite file; ``flush`` writes and evicts."""

    def __init__(self, ledger: Ledger) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="gridledger-scratch-")
        path = Path(self._dir.name) / "archive.db"
        super().__init__(connect(path, "OFF"), path)
        self._ledger = ledger
        self._pending = 0
        ledger.archive = self  # the ledger no longer flushes itself: this archive does

    def applied(self, n: int = 1) -> None:
        """Count applied evidence; write and evict every ``WRITE_EVERY`` pieces."""
        self._pending += n
        if self._pending >= WRITE_EVERY:
            self.flush()

    def flush(self) -> None:
        self._pending = 0
        changes: ChangeSet = self._ledger.take_changes()
        if changes:
            self._conn.execute("BEGIN")
            try:
                write_changes(self._conn, changes, dict(self._ledger.counts))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        self._ledger.committed(changes)

    def close(self) -> None:
        """Flush (the ledger's records stay consistent for reading), then delete the file."""
        self.flush()
        self._conn.close()
        self._dir.cleanup()
        # What the caller reads afterwards (slots, live orders) is in RAM; a lookup of a
        # finished order must not reach a closed connection.
        self._ledger.archive = MemoryArchive()
