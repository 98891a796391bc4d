"""The journal (rule R8): SQLite in WAL mode, one transaction per piece of evidence.

Each transaction holds the raw message, its outcomes, the dedupe keys, the changed order
records, the changed slots and parked evidence, so a crash leaves a message fully applied
or not at all. The ``orders`` and ``slots`` tables are the snapshot, kept current in the
same transactions, so opening a journal restores the exact state without replaying the
whole history; the ``journal`` table is the audit trail. Finished orders are not loaded
into RAM: the ledger finds them here on a miss (R9), however old they are.

If a commit fails (disk full, I/O error) the journal refuses further work: the in-memory
ledger may be ahead of the disk, and the only safe continuation is to reopen from disk.

One process at a time: ``open`` takes the journal's OS lock (``store.lock``) and keeps it
until ``close``. Damage is refused on open (``store.integrity``). Only evidence that changed
something keeps its raw text; duplicates and stale reports are counted per outcome and
source in ``counters`` (issue 7 item 14), so the file grows with distinct evidence.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

from gridledger.domain.grid import GridSpec
from gridledger.ledger.changes import ChangeSet, SlotRow
from gridledger.ledger.evidence import Evidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import Outcome, OutcomeKind
from gridledger.ledger.records import OrderRecord
from gridledger.store.codec import (
    evidence_from_json,
    evidence_to_json,
    record_from_json,
    record_to_json,
    state_from_obj,
    state_to_obj,
)
from gridledger.store import lock as journal_lock
from gridledger.store.errors import JournalError
from gridledger.store.integrity import check_row, damaged, row_crc, verify_state_tables
from gridledger.store.schema import SCHEMA_VERSION, connect, sqlite_error

__all__ = ["Journal", "JournalError", "SCHEMA_VERSION", "REJECTED_RAW_CAP", "source_kind"]

# A rejected message keeps this many characters of its text, plus its length and SHA-256:
# enough to recognise it, never a 50 MB copy (issue 7 item 4).
REJECTED_RAW_CAP = 512
# Outcomes whose evidence is kept verbatim: each changed (or may yet change) the ledger,
# or is something an audit must be able to show. DUPLICATE and STALE are only counted.
_KEEP = frozenset({OutcomeKind.APPLIED, OutcomeKind.PARKED, OutcomeKind.FOREIGN})
_T = TypeVar("_T")


def source_kind(source: str) -> str:
    """The counter key of a message's source: the engine's own label, or "replay" for a file line."""
    head = source.split(":", 1)[0]
    if head in ("ws", "rest", "intent"):
        return source if len(source) <= 40 else head
    return "replay" if source else "unknown"


def _outcomes_json(outcomes: Sequence[Outcome]) -> str:
    rows = []
    for out in outcomes:
        rows.append([out.kind.value, out.client_id, out.order_id, out.trade_id, out.reason or None])
        for rel in out.released:
            rows.append([rel.kind.value, rel.client_id, rel.order_id, rel.trade_id, "released"])
    return json.dumps(rows, separators=(",", ":"))


class Journal:
    """A ledger bound to its SQLite journal. Use ``Journal.open``."""

    def __init__(self, conn: sqlite3.Connection, grid: GridSpec, group_size: int, path: str | Path = "",
                 lock: journal_lock.JournalLock | None = None) -> None:
        self._conn = conn
        self.path = Path(path)
        self.grid = grid
        self.group_size = group_size
        self.ledger = Ledger(grid, archive=self)
        # Rows to store: (received_at, source, raw, outcomes, raw_len, raw_sha256).
        self._rows: list[tuple[int | None, str, str, str, int, str | None]] = []
        self._grouping = 0
        self._broken: str | None = None
        self._meta_pending: dict[str, str] = {}
        self._lock = lock
        self._counters: dict[tuple[str, str], int] = {}
        self._count_pending: dict[tuple[str, str], int] = {}
        self._messages = 0
        self._messages_pending = 0
        self._last_at: int | None = None
        self._last_at_pending: int | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        path: str | Path,
        grid: GridSpec,
        *,
        synchronous: str = "FULL",
        group_size: int = 100,
    ) -> "Journal":
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise JournalError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        held = journal_lock.acquire(path)  # one writer per journal, before anything is read
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(path, synchronous)
            journal = cls(conn, grid, group_size, path, held)
            with journal._reading():
                verify_state_tables(conn, path)
                journal._check_meta()
                journal._restore()
            return journal
        except BaseException:
            if conn is not None:
                conn.close()
            held.release()
            raise

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """SQLite errors while reading, and values that do not decode, mean damage: one line."""
        try:
            yield
        except JournalError:
            raise
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None
        except (ValueError, KeyError, TypeError, IndexError, ArithmeticError) as exc:
            raise damaged(self.path, f"a stored value does not decode: {type(exc).__name__}") from None

    def _read(self, fn: Callable[[], _T]) -> _T:
        with self._reading():
            return fn()

    def _meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta"))

    def _put_meta(self, items: Sequence[tuple[str, str]]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value, crc) VALUES (?, ?, ?)",
            [(k, v, row_crc((k, v))) for k, v in items],
        )

    def _check_meta(self) -> None:
        meta = self._meta()
        want = {
            "grid_id": self.grid.grid_id,
            "symbol": self.grid.symbol,
            "anchor": str(self.grid.anchor),
            "interval": str(self.grid.interval),
            "account": self.grid.account,
            "contract_size": str(self.grid.instrument.contract_size),
        }
        if not meta:
            rows = [("schema_version", str(SCHEMA_VERSION)), *want.items(), ("counts", "{}"), ("messages", "0"),
                    ("last_received_at", "")]
            with self._transaction():
                self._put_meta(rows)
            return
        version = int(meta.get("schema_version", "0"))
        if version != SCHEMA_VERSION:
            raise JournalError(f"journal schema version {version}; this gridledger reads version {SCHEMA_VERSION}")
        for key, value in want.items():
            have = meta.get(key)
            if key in ("anchor", "interval", "contract_size") and have is not None:
                same = Decimal(have) == Decimal(value)
            else:
                same = have == value
            if not same:
                raise JournalError(
                    f"journal belongs to {key} {have!r}, the config says {value!r}; "
                    "use another --db or the config the journal was created with"
                )

    def _restore(self) -> None:
        slots = [
            SlotRow(level, state_from_obj(json.loads(base)), base_gen, next_gen)
            for level, base, base_gen, next_gen in self._conn.execute(
                "SELECT level, base, base_gen, next_gen FROM slots"
            )
        ]
        # NOT INDEXED: the state comes from the checksummed table rows, never from an index.
        orders = [record_from_json(data)
                  for (data,) in self._conn.execute("SELECT data FROM orders NOT INDEXED WHERE folded = 0")]
        parked = [
            (order_id, key, evidence_from_json(text))
            for key, order_id, text in self._conn.execute("SELECT key, order_id, evidence FROM parked")
        ]
        meta = self._meta()
        counts = json.loads(meta.get("counts", "{}"))
        self._messages = int(meta.get("messages", "0"))
        last = meta.get("last_received_at", "")
        self._last_at = int(last) if last else None
        self._counters = {(o, k): n for o, k, n in self._conn.execute("SELECT outcome, source_kind, n FROM counters")}
        # R4 anomalies stay until a reconciliation clears them (issue 7 item 8); a journal
        # written before they were kept has none.
        anomalies = json.loads(meta.get("anomalies", "[]"))
        self.ledger.restore(slots, orders, parked, counts, anomalies)

    # ------------------------------------------------------------------ Archive
    # Rows read after open are checked again: damage can appear while a journal is open.
    _ORDER_COLS = "client_id, order_id, level, generation, folded, incomplete, data, crc"

    def _order(self, row: tuple, **want: object) -> tuple:
        """An intact row that is the one asked for (a damaged index could point elsewhere)."""
        cols = check_row("orders", row, self.path)
        names = ("client_id", "order_id", "level", "generation", "folded")
        for name, value in want.items():
            if cols[names.index(name)] != value:
                raise damaged(self.path, f"the orders index for {name} {str(value)[:60]!r} points at another order")
        return cols

    def load_order(self, client_id: str) -> OrderRecord | None:
        def read() -> OrderRecord | None:
            row = self._conn.execute(f"SELECT {self._ORDER_COLS} FROM orders WHERE client_id = ?",
                                     (client_id,)).fetchone()
            return None if row is None else record_from_json(self._order(row, client_id=client_id)[6])
        return self._read(read)

    def client_id_for(self, order_id: str) -> str | None:
        def read() -> str | None:
            row = self._conn.execute(f"SELECT {self._ORDER_COLS} FROM orders WHERE order_id = ?",
                                     (order_id,)).fetchone()
            return None if row is None else self._order(row, order_id=order_id)[0]
        return self._read(read)

    def load_folded(self, level: int, from_generation: int) -> list[OrderRecord]:
        def read() -> list[OrderRecord]:
            rows = self._conn.execute(
                f"SELECT {self._ORDER_COLS} FROM orders WHERE folded = 1 AND level = ? AND generation >= ? "
                "ORDER BY generation",
                (level, from_generation),
            )
            found = [self._order(row, folded=1, level=level) for row in rows]
            if any(cols[3] < from_generation for cols in found):
                raise damaged(self.path, f"the orders index of level {level} points at other orders")
            return [record_from_json(cols[6]) for cols in found]
        return self._read(read)

    def has_key(self, key: str) -> bool:
        def read() -> bool:
            row = self._conn.execute("SELECT key, crc FROM keys WHERE key = ?", (key,)).fetchone()
            return row is not None and check_row("keys", row, self.path) is not None
        return self._read(read)

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
        outcomes = [self.ledger.apply(ev) for ev in items]
        kinds = [k for out in outcomes for k in (out.kind, *(r.kind for r in out.released))]
        self._count(source, [k.value for k in kinds] or ["SKIPPED"], received_at)
        if any(k in _KEEP for k in kinds):
            self._rows.append((received_at, source, raw, _outcomes_json(outcomes), len(raw), None))
        elif kinds and all(k is OutcomeKind.REJECTED for k in kinds):
            self._keep_rejected(raw, source, received_at, _outcomes_json(outcomes))
        # else: DUPLICATE / STALE / nothing to apply: counted above, the text is not needed (item 14)
        if not self._grouping or self._pending() >= self.group_size:
            self.commit()
        return outcomes

    def record_rejection(self, raw: str, reason: str, *, source: str = "", received_at: int | None = None,
                         **context: object) -> Outcome:
        """Journal and count a message that could not be parsed; the ledger is untouched."""
        self._check_usable()
        out = self.ledger.reject(reason, **context)
        self._count(source, [out.kind.value], received_at)
        self._keep_rejected(raw, source, received_at, _outcomes_json([out]))
        if not self._grouping or self._pending() >= self.group_size:
            self.commit()
        return out

    def record_intent(self, raw: str, *, received_at: int | None = None) -> None:
        """Persist new order records (their generations) before the orders are sent (R7)."""
        self._check_usable()
        self._count("intent", ["INTENT"], received_at)
        self._rows.append((received_at, "intent", raw, "[]", len(raw), None))
        self.commit()

    def _count(self, source: str, kinds: Sequence[str], received_at: int | None) -> None:
        kind = source_kind(source)
        for k in kinds:
            self._count_pending[(k, kind)] = self._count_pending.get((k, kind), 0) + 1
        self._messages_pending += 1
        if received_at is not None and (self._last_at_pending is None or received_at > self._last_at_pending):
            self._last_at_pending = received_at

    def _pending(self) -> int:
        return self._messages_pending

    def _keep_rejected(self, raw: str, source: str, received_at: int | None, outcomes: str) -> None:
        """A bounded prefix, the length and the SHA-256; a repeat of a stored rejection is only counted."""
        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
        if any(r[5] == digest for r in self._rows):
            return
        if self._read(lambda: self._conn.execute(
                "SELECT 1 FROM journal WHERE raw_sha256 = ?", (digest,)).fetchone()) is not None:
            return
        self._rows.append((received_at, source, raw[:REJECTED_RAW_CAP], outcomes, len(raw), digest))

    @contextmanager
    def group(self) -> Iterator["Journal"]:
        """Group commit: messages inside are committed together, ``group_size`` at a time."""
        self._grouping += 1
        try:
            yield self
        finally:
            self._grouping -= 1
            if not self._grouping and self._broken is None:
                self.commit()

    def commit(self) -> None:
        self._check_usable()
        changes = self.ledger.take_changes()
        rows, self._rows = self._rows, []
        if not rows and not changes and not self._meta_pending and not self._messages_pending:
            self.ledger.committed(changes)
            return
        try:
            with self._transaction():
                self._write(rows, changes)
                counters = self._write_counters()
        except Exception as exc:
            self._broken = f"commit failed: {exc}"
            raise JournalError(
                f"journal commit failed ({exc}); the in-memory state is ahead of the journal, "
                "reopen it to continue"
            ) from exc
        self._counters.update(counters)
        self._messages += self._messages_pending
        if self._last_at_pending is not None and (self._last_at is None or self._last_at_pending > self._last_at):
            self._last_at = self._last_at_pending
        self._count_pending, self._messages_pending, self._last_at_pending = {}, 0, None
        self.ledger.committed(changes)

    def _write_counters(self) -> dict[tuple[str, str], int]:
        """Outcome counters, message count and last time, in the same transaction as the evidence."""
        new = {key: self._counters.get(key, 0) + n for key, n in self._count_pending.items()}
        if new:
            self._conn.executemany(
                "INSERT OR REPLACE INTO counters (outcome, source_kind, n, crc) VALUES (?, ?, ?, ?)",
                [(o, k, n, row_crc((o, k, n))) for (o, k), n in new.items()],
            )
        if self._messages_pending:
            last = self._last_at
            if self._last_at_pending is not None and (last is None or self._last_at_pending > last):
                last = self._last_at_pending
            self._put_meta([("messages", str(self._messages + self._messages_pending)),
                            ("last_received_at", "" if last is None else str(last))])
        return new

    def _write(self, rows: list[tuple[int | None, str, str, str, int, str | None]], changes: ChangeSet) -> None:
        # Every row carries the checksum of its columns (item 6), written in this same transaction.
        conn = self._conn
        if rows:
            conn.executemany(
                "INSERT INTO journal (received_at, source, raw, outcomes, raw_len, raw_sha256, crc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*r, row_crc(r)) for r in rows],
            )
        if changes.orders:
            order_rows = [
                (r.client_id, r.order_id, r.level, r.generation, int(r.pre_state is not None),
                 int(r.filled > 0 and r.fees_incomplete()), record_to_json(r))
                for r in changes.orders
            ]
            conn.executemany(
                "INSERT OR REPLACE INTO orders (client_id, order_id, level, generation, folded, incomplete, data, crc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*r, row_crc(r)) for r in order_rows],
            )
        if changes.slots:
            slot_rows = [(s.level, json.dumps(state_to_obj(s.base)), s.base_gen, s.next_gen) for s in changes.slots]
            conn.executemany(
                "INSERT OR REPLACE INTO slots (level, base, base_gen, next_gen, crc) VALUES (?, ?, ?, ?, ?)",
                [(*r, row_crc(r)) for r in slot_rows],
            )
        if changes.keys:
            conn.executemany("INSERT OR IGNORE INTO keys (key, crc) VALUES (?, ?)",
                             [(k, row_crc((k,))) for k in changes.keys])
        if changes.parked_add:
            parked_rows = [(key, order_id, evidence_to_json(ev)) for order_id, key, ev in changes.parked_add]
            conn.executemany(
                "INSERT OR REPLACE INTO parked (key, order_id, evidence, crc) VALUES (?, ?, ?, ?)",
                [(*r, row_crc(r)) for r in parked_rows],
            )
        if changes.parked_done:
            conn.executemany("DELETE FROM parked WHERE key = ?", [(k,) for k in changes.parked_done])
        self._put_meta([("counts", json.dumps(dict(self.ledger.counts), separators=(",", ":")))])
        if changes.anomalies is not None:  # raised or cleared: same transaction as its cause (R8)
            self._put_meta([("anomalies", json.dumps(list(changes.anomalies), separators=(",", ":")))])
        if self._meta_pending:
            self._put_meta(list(self._meta_pending.items()))
            self._meta_pending = {}

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

    # ------------------------------------------------------------------ engine cursors
    def get_meta(self, key: str) -> str | None:
        """A value the engine keeps with the journal (a trade cursor, the balance baseline)."""
        if f"x:{key}" in self._meta_pending:
            return self._meta_pending[f"x:{key}"]
        row = self._read(lambda: self._conn.execute(
            "SELECT key, value, crc FROM meta WHERE key = ?", (f"x:{key}",)).fetchone())
        return None if row is None else check_row("meta", row, self.path)[1]

    def set_meta(self, key: str, value: str) -> None:
        """Stored with the next commit, in the same transaction as the evidence it follows."""
        self._meta_pending[f"x:{key}"] = value

    def incomplete_orders(self) -> list[str]:
        """Client ids of filled orders whose fees are not all known yet (fetch their trades)."""
        self.commit()
        return self._read(lambda: [c for (c,) in self._conn.execute(
            "SELECT client_id FROM orders WHERE incomplete = 1")])

    # ------------------------------------------------------------------ reading
    def entries(self) -> int:
        """Messages journaled (committed), whether their text was kept or only counted."""
        return self._messages

    def stored_entries(self) -> int:
        """Messages whose text is stored: distinct evidence that changed something, rejections, intents."""
        return self._read(lambda: self._conn.execute("SELECT count(*) FROM journal").fetchone()[0])

    def counters(self) -> dict[tuple[str, str], int]:
        """Committed outcome counts per (outcome, source kind), duplicates included."""
        return dict(self._counters)

    def last_received_at(self) -> int | None:
        return self._last_at

    def close(self) -> None:
        try:
            if self._broken is None and (self._rows or self._messages_pending):
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

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
