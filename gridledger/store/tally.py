"""What the journal counts instead of storing (issue 7 item 14): outcomes per source kind,
messages journaled and the newest receive time.

Duplicates and stale reports keep no text, only a count; the counts are written in the same
transaction as the evidence they follow (R8), so they always match what the journal holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from gridledger.store.integrity import row_crc
from gridledger.store.snapshot import put_meta

__all__ = ["Tally", "source_kind"]


def source_kind(source: str) -> str:
    """The counter key of a message's source: the engine's own label, or "replay" for a file line."""
    head = source.split(":", 1)[0]
    if head in ("ws", "rest", "intent"):
        return source if len(source) <= 40 else head
    return "replay" if source else "unknown"


class Tally:
    """Committed counts, plus those pending for the next transaction."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, str], int] = {}
        self.messages = 0
        self.last_at: int | None = None
        self._pending: dict[tuple[str, str], int] = {}
        self._messages_pending = 0
        self._last_at_pending: int | None = None

    def load(self, conn: sqlite3.Connection, meta: dict[str, str]) -> None:
        self.messages = int(meta.get("messages", "0"))
        last = meta.get("last_received_at", "")
        self.last_at = int(last) if last else None
        self.counters = {(o, k): n for o, k, n in conn.execute("SELECT outcome, source_kind, n FROM counters")}

    def count(self, source: str, kinds: Sequence[str], received_at: int | None) -> None:
        """One message, with the kinds of its outcomes."""
        kind = source_kind(source)
        for k in kinds:
            self._pending[(k, kind)] = self._pending.get((k, kind), 0) + 1
        self._messages_pending += 1
        if received_at is not None and (self._last_at_pending is None or received_at > self._last_at_pending):
            self._last_at_pending = received_at

    @property
    def pending_messages(self) -> int:
        return self._messages_pending

    def _newest(self) -> int | None:
        last, pending = self.last_at, self._last_at_pending
        return pending if pending is not None and (last is None or pending > last) else last

    def write(self, conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
        """Counters, message count and last time, inside the journal's open transaction."""
        new = {key: self.counters.get(key, 0) + n for key, n in self._pending.items()}
        if new:
            conn.executemany(
                "INSERT OR REPLACE INTO counters (outcome, source_kind, n, crc) VALUES (?, ?, ?, ?)",
                [(o, k, n, row_crc((o, k, n))) for (o, k), n in new.items()],
            )
        if self._messages_pending:
            last = self._newest()
            put_meta(
                conn,
                [
                    ("messages", str(self.messages + self._messages_pending)),
                    ("last_received_at", "" if last is None else str(last)),
                ],
            )
        return new

    def committed(self, new: dict[tuple[str, str], int]) -> None:
        """The transaction that wrote ``new`` is durable."""
        self.counters.update(new)
        self.messages += self._messages_pending
        self.last_at = self._newest()
        self._pending, self._messages_pending, self._last_at_pending = {}, 0, None
