"""The journal (rule R8): SQLite in WAL mode, one transaction per piece of evidence.

Each transaction holds the raw message, its outcomes, the dedupe keys, the changed order
records, the changed slots and parked evidence, so a crash leaves a message fully applied
or not at all. The ``orders`` and ``slots`` tables are the snapshot, kept current in the
same transactions, so opening a journal restores the exact state without replaying the
whole history; the ``journal`` table is the audit trail. Finished orders are not loaded
into RAM: the ledger finds them here on a miss (R9), however old they are.

If a commit fails (disk full, I/O error) the journal refuses further work: the in-memory
ledger may be ahead of the disk, and the only safe continuation is to reopen from disk.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Iterator, Sequence

from gridledger.domain.grid import GridSpec
from gridledger.ledger.changes import ChangeSet, SlotRow
from gridledger.ledger.evidence import Evidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import Outcome
from gridledger.ledger.records import OrderRecord
from gridledger.store.codec import (
    evidence_from_json,
    evidence_to_json,
    record_from_json,
    record_to_json,
    state_from_obj,
    state_to_obj,
)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    received_at INTEGER,
    source TEXT NOT NULL,
    raw TEXT NOT NULL,
    outcomes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    client_id TEXT PRIMARY KEY,
    order_id TEXT,
    level INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    folded INTEGER NOT NULL,
    incomplete INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_order_id ON orders (order_id);
CREATE INDEX IF NOT EXISTS orders_folded ON orders (level, generation) WHERE folded = 1;
CREATE INDEX IF NOT EXISTS orders_open ON orders (folded) WHERE folded = 0;
CREATE INDEX IF NOT EXISTS orders_incomplete ON orders (incomplete) WHERE incomplete = 1;
CREATE TABLE IF NOT EXISTS slots (
    level INTEGER PRIMARY KEY,
    base TEXT NOT NULL,
    base_gen INTEGER NOT NULL,
    next_gen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parked (key TEXT PRIMARY KEY, order_id TEXT NOT NULL, evidence TEXT NOT NULL);
"""


class JournalError(RuntimeError):
    """The journal cannot be used: wrong grid, unknown schema, or a failed commit."""


def _outcomes_json(outcomes: Sequence[Outcome]) -> str:
    rows = []
    for out in outcomes:
        rows.append([out.kind.value, out.client_id, out.order_id, out.trade_id, out.reason or None])
        for rel in out.released:
            rows.append([rel.kind.value, rel.client_id, rel.order_id, rel.trade_id, "released"])
    return json.dumps(rows, separators=(",", ":"))


class Journal:
    """A ledger bound to its SQLite journal. Use ``Journal.open``."""

    def __init__(self, conn: sqlite3.Connection, grid: GridSpec, group_size: int) -> None:
        self._conn = conn
        self.grid = grid
        self.group_size = group_size
        self.ledger = Ledger(grid, archive=self)
        self._rows: list[tuple[int | None, str, str, str]] = []
        self._grouping = 0
        self._broken: str | None = None
        self._meta_pending: dict[str, str] = {}

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
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.executescript(_SCHEMA)
        journal = cls(conn, grid, group_size)
        journal._check_meta()
        journal._restore()
        return journal

    def _meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM meta"))

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
            rows = [("schema_version", str(SCHEMA_VERSION)), *want.items(), ("counts", "{}")]
            with self._transaction():
                self._conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)
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
        orders = [record_from_json(data) for (data,) in self._conn.execute("SELECT data FROM orders WHERE folded = 0")]
        parked = [
            (order_id, key, evidence_from_json(text))
            for key, order_id, text in self._conn.execute("SELECT key, order_id, evidence FROM parked")
        ]
        counts = json.loads(self._meta().get("counts", "{}"))
        self.ledger.restore(slots, orders, parked, counts)

    # ------------------------------------------------------------------ Archive
    def load_order(self, client_id: str) -> OrderRecord | None:
        row = self._conn.execute("SELECT data FROM orders WHERE client_id = ?", (client_id,)).fetchone()
        return None if row is None else record_from_json(row[0])

    def client_id_for(self, order_id: str) -> str | None:
        row = self._conn.execute("SELECT client_id FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        return None if row is None else row[0]

    def load_folded(self, level: int, from_generation: int) -> list[OrderRecord]:
        rows = self._conn.execute(
            "SELECT data FROM orders WHERE folded = 1 AND level = ? AND generation >= ? ORDER BY generation",
            (level, from_generation),
        )
        return [record_from_json(data) for (data,) in rows]

    def has_key(self, key: str) -> bool:
        return self._conn.execute("SELECT 1 FROM keys WHERE key = ?", (key,)).fetchone() is not None

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
        self._rows.append((received_at, source, raw, _outcomes_json(outcomes)))
        if not self._grouping or len(self._rows) >= self.group_size:
            self.commit()
        return outcomes

    def record_rejection(self, raw: str, reason: str, *, source: str = "", received_at: int | None = None,
                         **context: object) -> Outcome:
        """Journal and count a message that could not be parsed; the ledger is untouched."""
        self._check_usable()
        out = self.ledger.reject(reason, **context)
        self._rows.append((received_at, source, raw, _outcomes_json([out])))
        if not self._grouping or len(self._rows) >= self.group_size:
            self.commit()
        return out

    def record_intent(self, raw: str, *, received_at: int | None = None) -> None:
        """Persist new order records (their generations) before the orders are sent (R7)."""
        self._check_usable()
        self._rows.append((received_at, "intent", raw, "[]"))
        self.commit()

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
        if not rows and not changes and not self._meta_pending:
            self.ledger.committed(changes)
            return
        try:
            with self._transaction():
                self._write(rows, changes)
        except Exception as exc:
            self._broken = f"commit failed: {exc}"
            raise JournalError(
                f"journal commit failed ({exc}); the in-memory state is ahead of the journal, "
                "reopen it to continue"
            ) from exc
        self.ledger.committed(changes)

    def _write(self, rows: list[tuple[int | None, str, str, str]], changes: ChangeSet) -> None:
        conn = self._conn
        if rows:
            conn.executemany(
                "INSERT INTO journal (received_at, source, raw, outcomes) VALUES (?, ?, ?, ?)", rows
            )
        if changes.orders:
            conn.executemany(
                "INSERT OR REPLACE INTO orders (client_id, order_id, level, generation, folded, incomplete, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.client_id, r.order_id, r.level, r.generation, int(r.pre_state is not None),
                     int(r.filled > 0 and r.fees_incomplete()), record_to_json(r))
                    for r in changes.orders
                ],
            )
        if changes.slots:
            conn.executemany(
                "INSERT OR REPLACE INTO slots (level, base, base_gen, next_gen) VALUES (?, ?, ?, ?)",
                [(s.level, json.dumps(state_to_obj(s.base)), s.base_gen, s.next_gen) for s in changes.slots],
            )
        if changes.keys:
            conn.executemany("INSERT OR IGNORE INTO keys (key) VALUES (?)", [(k,) for k in changes.keys])
        if changes.parked_add:
            conn.executemany(
                "INSERT OR REPLACE INTO parked (key, order_id, evidence) VALUES (?, ?, ?)",
                [(key, order_id, evidence_to_json(ev)) for order_id, key, ev in changes.parked_add],
            )
        if changes.parked_done:
            conn.executemany("DELETE FROM parked WHERE key = ?", [(k,) for k in changes.parked_done])
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'counts'",
            (json.dumps(dict(self.ledger.counts), separators=(",", ":")),),
        )
        if self._meta_pending:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(self._meta_pending.items()))
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
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (f"x:{key}",)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Stored with the next commit, in the same transaction as the evidence it follows."""
        self._meta_pending[f"x:{key}"] = value

    def incomplete_orders(self) -> list[str]:
        """Client ids of filled orders whose fees are not all known yet (fetch their trades)."""
        self.commit()
        return [c for (c,) in self._conn.execute("SELECT client_id FROM orders WHERE incomplete = 1")]

    # ------------------------------------------------------------------ reading
    def entries(self) -> int:
        return self._conn.execute("SELECT count(*) FROM journal").fetchone()[0]

    def last_received_at(self) -> int | None:
        row = self._conn.execute("SELECT max(received_at) FROM journal").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        if self._broken is None and self._rows:
            self.commit()
        self._conn.close()

    def abandon(self) -> None:
        """Drop the connection without committing anything pending: what SIGKILL does.

        For crash tests and chaos runs; SQLite rolls the open transaction back, so the
        journal on disk holds exactly what was committed.
        """
        self._broken = "abandoned"
        self._rows.clear()
        self._conn.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
