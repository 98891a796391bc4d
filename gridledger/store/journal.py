"""The journal (rule R8): SQLite in WAL mode, one transaction per piece of evidence.

Each transaction holds the raw message, its outcomes, the dedupe keys, the changed order
records, the changed slots and parked evidence, so a crash leaves a message fully applied
or not at all. The ``orders`` and ``slots`` tables are the snapshot (``store.snapshot``),
kept current in the same transactions, so opening a journal restores the exact state
without replaying the whole history; the ``journal`` table is the audit trail. Finished
orders are not loaded into RAM: the journal is the ledger's ``Archive`` (R9,
``store.archive``), where the ledger finds them on a miss, however old they are.

The journal persists a ledger it is given: ``Journal.open(path, Ledger(grid))`` restores
the committed state into that (empty) ledger and becomes its archive. The ledger never
imports the store. Nothing commits as a hidden side effect: evidence commits as it is
applied (or by groups), intents before their orders are sent (R7), everything else when
the caller calls ``commit()``. The engine's cursors live beside it (``store.cursors``).

If a commit fails (disk full, I/O error) the journal refuses further work: the in-memory
ledger may be ahead of the disk, and the only safe continuation is to reopen from disk.

One process at a time: ``open`` takes the journal's OS lock (``store.lock``) and keeps it
until ``close``. Damage is refused on open (``store.integrity``). Only evidence that changed
something keeps its raw text; duplicates and stale reports are counted per outcome and
source in ``counters`` (``store.tally``), so the file grows with distinct evidence.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gridledger.domain.grid import GridSpec
from gridledger.fastjson import dumps_compact
from gridledger.ledger.changes import Archive
from gridledger.ledger.evidence import Evidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import Outcome, OutcomeKind
from gridledger.store import lock as journal_lock
from gridledger.store.archive import JournalArchive
from gridledger.store.cursors import EngineCursors
from gridledger.store.errors import JournalError
from gridledger.store.integrity import row_crc, verify_state_tables
from gridledger.store.schema import SCHEMA_VERSION, connect
from gridledger.store.snapshot import check_meta, new_journal_meta, put_meta, read_meta, read_state, write_changes
from gridledger.store.tally import Tally, source_kind

__all__ = ["REJECTED_RAW_CAP", "SCHEMA_VERSION", "Journal", "JournalError", "source_kind"]

# A rejected message keeps this many characters of its text, plus its length and SHA-256:
# enough to recognise it, never a 50 MB copy (issue 7 item 4).
REJECTED_RAW_CAP = 512
# Outcomes whose evidence is kept verbatim: each changed (or may yet change) the ledger,
# or is something an audit must be able to show. DUPLICATE and STALE are only counted.
_KEEP = frozenset({OutcomeKind.APPLIED, OutcomeKind.PARKED, OutcomeKind.FOREIGN})
# A row of the journal table: (received_at, source, raw, outcomes, raw_len, raw_sha256).
_Row = tuple[int | None, str, str, str, int, str | None]


def _outcomes_json(outcomes: Sequence[Outcome]) -> str:
    rows = []
    for out in outcomes:
        rows.append([out.kind.value, out.client_id, out.order_id, out.trade_id, out.reason or None])
        for rel in out.released:
            rows.append([rel.kind.value, rel.client_id, rel.order_id, rel.trade_id, "released"])
    return dumps_compact(rows)


def _refuse_unless_fresh(ledger: object) -> Ledger:
    """The journal restores into an empty ledger: state already in it would be mixed with the
    journal's, or lost, and the restored position would be wrong (R8)."""
    if not isinstance(ledger, Ledger):
        raise TypeError(
            f"Journal.open takes the ledger to restore into, e.g. Ledger(grid); got {type(ledger).__name__}"
        )
    if isinstance(ledger.archive, Journal):
        raise JournalError("this ledger already belongs to a journal; give each journal a new Ledger(grid)")
    if ledger.slots or ledger.ram_orders or ledger.anomalies or any(ledger.counts.values()) or ledger.parked_order_ids:
        raise JournalError("the journal restores into an empty ledger; this one already holds state")
    return ledger


class Journal(JournalArchive):
    """A SQLite journal persisting a ledger it is given. Use ``Journal.open``."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        ledger: Ledger,
        group_size: int,
        path: str | Path = "",
        lock: journal_lock.JournalLock | None = None,
    ) -> None:
        super().__init__(conn, Path(path))
        self._ledger = ledger
        self.group_size = group_size
        self.cursors = EngineCursors(conn, self.path)
        self._rows: list[_Row] = []
        self._grouping = 0
        self._broken: str | None = None
        self._lock = lock
        self._tally = Tally()

    @property
    def ledger(self) -> Ledger:
        """The ledger this journal persists (read-only; its owner created it)."""
        return self._ledger

    @property
    def grid(self) -> GridSpec:
        return self._ledger.grid

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        path: str | Path,
        ledger: Ledger,
        *,
        synchronous: str = "FULL",
        group_size: int = 100,
    ) -> Journal:
        """Open (or create) the journal at ``path`` for ``ledger``'s grid and restore its
        committed state into ``ledger``, which must be empty; the journal becomes its archive.

        Refuses a journal of another grid. On failure the ledger may hold part of the state:
        discard it."""
        _refuse_unless_fresh(ledger)
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise JournalError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        held = journal_lock.acquire(path)  # one writer per journal, before anything is read
        conn: sqlite3.Connection | None = None
        previous = ledger.archive
        try:
            conn = connect(path, synchronous)
            journal = cls(conn, ledger, group_size, path, held)
            with journal._reading():
                verify_state_tables(conn, path)
                journal._check_meta()
                # The journal is the ledger's archive from here on: restoring may look up orders.
                archive: Archive = journal
                ledger.archive = archive
                journal._restore()
            return journal
        except BaseException:
            ledger.archive = previous
            if conn is not None:
                conn.close()
            held.release()
            raise

    def _check_meta(self) -> None:
        meta = read_meta(self._conn)
        if not meta:
            with self._transaction():
                put_meta(self._conn, new_journal_meta(self.grid))
            return
        check_meta(meta, self.grid)

    def _restore(self) -> None:
        meta = read_meta(self._conn)
        state = read_state(self._conn, meta)
        self._tally.load(self._conn, meta)
        self._ledger.restore(state.slots, state.orders, state.parked, state.counts, state.anomalies)

    # ------------------------------------------------------------------ writing
    def apply_message(
        self,
        raw: str,
        items: Sequence[Evidence],
        *,
        source: str = "",
        received_at: int | None = None,
    ) -> list[Outcome]:
        """Apply one message's evidence and journal it; committed now unless in a group."""
        self._check_usable()
        outcomes = [self._ledger.apply(ev) for ev in items]
        kinds = [k for out in outcomes for k in (out.kind, *(r.kind for r in out.released))]
        self._tally.count(source, [k.value for k in kinds] or ["SKIPPED"], received_at)
        if any(k in _KEEP for k in kinds):
            self._rows.append((received_at, source, raw, _outcomes_json(outcomes), len(raw), None))
        elif kinds and all(k is OutcomeKind.REJECTED for k in kinds):
            self._keep_rejected(raw, source, received_at, _outcomes_json(outcomes))
        # else: DUPLICATE / STALE / nothing to apply: counted above, the text is not needed (item 14)
        if not self._grouping or self._tally.pending_messages >= self.group_size:
            self.commit()
        return outcomes

    def record_rejection(
        self, raw: str, reason: str, *, source: str = "", received_at: int | None = None, **context: object
    ) -> Outcome:
        """Journal and count a message that could not be parsed; the ledger is untouched."""
        self._check_usable()
        out = self._ledger.reject(reason, **context)
        self._tally.count(source, [out.kind.value], received_at)
        self._keep_rejected(raw, source, received_at, _outcomes_json([out]))
        if not self._grouping or self._tally.pending_messages >= self.group_size:
            self.commit()
        return out

    def record_intent(self, raw: str, *, received_at: int | None = None) -> None:
        """Persist new order records (their generations) before the orders are sent (R7)."""
        self._check_usable()
        self._tally.count("intent", ["INTENT"], received_at)
        self._rows.append((received_at, "intent", raw, "[]", len(raw), None))
        self.commit()

    def _keep_rejected(self, raw: str, source: str, received_at: int | None, outcomes: str) -> None:
        """A bounded prefix, the length and the SHA-256; a repeat of a stored rejection is only counted."""
        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
        if any(r[5] == digest for r in self._rows):
            return
        if (
            self._read(lambda: self._conn.execute("SELECT 1 FROM journal WHERE raw_sha256 = ?", (digest,)).fetchone())
            is not None
        ):
            return
        self._rows.append((received_at, source, raw[:REJECTED_RAW_CAP], outcomes, len(raw), digest))

    @contextmanager
    def group(self) -> Iterator[Journal]:
        """Group commit: messages inside are committed together, ``group_size`` at a time."""
        self._grouping += 1
        try:
            yield self
        finally:
            self._grouping -= 1
            if not self._grouping and self._broken is None:
                self.commit()

    def commit(self) -> None:
        """Write everything pending in one transaction: evidence, ledger changes, counts, cursors."""
        self._check_usable()
        changes = self._ledger.take_changes()
        rows, self._rows = self._rows, []
        cursors = self.cursors.pending_rows()
        if not rows and not changes and not cursors and not self._tally.pending_messages:
            self._ledger.committed(changes)
            return
        try:
            with self._transaction():
                self._write(rows)
                write_changes(self._conn, changes, dict(self._ledger.counts))
                put_meta(self._conn, cursors)
                counters = self._tally.write(self._conn)
        except Exception as exc:
            self._broken = f"commit failed: {exc}"
            raise JournalError(
                f"journal commit failed ({exc}); the in-memory state is ahead of the journal, reopen it to continue"
            ) from exc
        self._tally.committed(counters)
        self.cursors.written()
        self._ledger.committed(changes)

    def _write(self, rows: list[_Row]) -> None:
        # Every row carries the checksum of its columns (item 6), written in this same transaction.
        if rows:
            self._conn.executemany(
                "INSERT INTO journal (received_at, source, raw, outcomes, raw_len, raw_sha256, crc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*r, row_crc(r)) for r in rows],
            )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise JournalError(f"journal is unusable after a failed commit ({self._broken}); reopen it")

    # ------------------------------------------------------------------ reading (never writes)
    def incomplete_orders(self) -> list[str]:
        """Client ids of filled orders whose fees are not all known yet (fetch their trades),
        as of the last commit: call ``commit()`` first to include what is pending."""
        return self._read(
            lambda: [c for (c,) in self._conn.execute("SELECT client_id FROM orders WHERE incomplete = 1")]
        )

    def entries(self) -> int:
        """Messages journaled (committed), whether their text was kept or only counted."""
        return self._tally.messages

    def stored_entries(self) -> int:
        """Messages whose text is stored: distinct evidence that changed something, rejections, intents."""
        return int(self._read(lambda: self._conn.execute("SELECT count(*) FROM journal").fetchone()[0]))

    def counters(self) -> dict[tuple[str, str], int]:
        """Committed outcome counts per (outcome, source kind), duplicates included."""
        return dict(self._tally.counters)

    def last_received_at(self) -> int | None:
        return self._tally.last_at

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        try:
            if self._broken is None and (self._rows or self._tally.pending_messages):
                self.commit()
        finally:
            self._conn.close()
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def abandon(self) -> None:
        """Drop the connection without committing anything pending: what SIGKILL does.

        For crash tests and chaos runs; SQLite rolls the open transaction back, so the
        journal on disk holds exactly what was committed.
        """
        self._broken = "abandoned"
        self._rows.clear()
        self._conn.close()
        self._release()  # as the kernel does for a killed process

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
