"""The snapshot tables (R8, R9): which grid a journal belongs to, the state it restores, and
how one transaction's ``ChangeSet`` is written.

The ``orders``, ``slots``, ``parked`` and ``keys`` tables hold the ledger's state as of the
last commit, so opening a journal restores it without replaying the history. Every row
carries the checksum of its columns (issue 7 item 6), written in the same transaction.
These functions run inside the journal's transactions and read paths; they never commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.domain.grid import GridSpec
from gridledger.fastjson import dumps_compact
from gridledger.ledger.changes import ChangeSet, SlotRow
from gridledger.ledger.evidence import Evidence
from gridledger.ledger.records import OrderRecord
from gridledger.store.codec import (
    evidence_from_json,
    evidence_to_json,
    record_from_json,
    record_to_json,
    state_from_obj,
    state_to_obj,
)
from gridledger.store.errors import JournalError
from gridledger.store.integrity import row_crc
from gridledger.store.schema import SCHEMA_VERSION

_COMPACT = (",", ":")


@dataclass(slots=True)
class SavedState:
    """What ``Ledger.restore`` takes: the state as of the journal's last commit."""

    slots: list[SlotRow] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)  # not yet folded into a checkpoint
    parked: list[tuple[str, str, Evidence]] = field(default_factory=list)  # (order id, key, evidence)
    counts: dict[str, int] = field(default_factory=dict)
    anomalies: list[str] = field(default_factory=list)


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta"))


def put_meta(conn: sqlite3.Connection, items: Sequence[tuple[str, str]]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value, crc) VALUES (?, ?, ?)",
        [(k, v, row_crc((k, v))) for k, v in items],
    )


def grid_meta(grid: GridSpec) -> dict[str, str]:
    """The meta rows that name the grid a journal belongs to."""
    return {
        "grid_id": grid.grid_id,
        "symbol": grid.symbol,
        "anchor": str(grid.anchor),
        "interval": str(grid.interval),
        "account": grid.account,
        "contract_size": str(grid.instrument.contract_size),
        # The slots' direction decides the sign of every fold (R5): a journal of a long grid
        # read as a short one would be wrong everywhere.
        "direction": grid.direction.value,
        "pivot": "" if grid.pivot is None else str(grid.pivot),
    }


# Meta rows added after journals were first written, and what their absence means.
_META_DEFAULTS = {"direction": "long", "pivot": ""}


def new_journal_meta(grid: GridSpec) -> list[tuple[str, str]]:
    return [
        ("schema_version", str(SCHEMA_VERSION)),
        *grid_meta(grid).items(),
        ("counts", "{}"),
        ("messages", "0"),
        ("last_received_at", ""),
    ]


def check_meta(meta: dict[str, str], grid: GridSpec) -> None:
    """Refuse a journal of another schema version or another grid (its ledger would be wrong)."""
    version = int(meta.get("schema_version", "0"))
    if version != SCHEMA_VERSION:
        raise JournalError(f"journal schema version {version}; this gridledger reads version {SCHEMA_VERSION}")
    for key, value in grid_meta(grid).items():
        have = meta.get(key, _META_DEFAULTS.get(key))
        if key in ("anchor", "interval", "contract_size") and have is not None:
            same = Decimal(have) == Decimal(value)
        else:
            same = have == value
        if not same:
            raise JournalError(
                f"journal belongs to {key} {have!r}, the config says {value!r}; "
                "use another --db or the config the journal was created with"
            )


def read_state(conn: sqlite3.Connection, meta: dict[str, str]) -> SavedState:
    state = SavedState()
    state.slots = [
        SlotRow(level, state_from_obj(json.loads(base)), base_gen, next_gen)
        for level, base, base_gen, next_gen in conn.execute("SELECT level, base, base_gen, next_gen FROM slots")
    ]
    # NOT INDEXED: the state comes from the checksummed table rows, never from an index.
    state.orders = [
        record_from_json(data) for (data,) in conn.execute("SELECT data FROM orders NOT INDEXED WHERE folded = 0")
    ]
    state.parked = [
        (order_id, key, evidence_from_json(text))
        for key, order_id, text in conn.execute("SELECT key, order_id, evidence FROM parked")
    ]
    state.counts = json.loads(meta.get("counts", "{}"))
    # R4 anomalies stay until a reconciliation clears them (issue 7 item 8); a journal
    # written before they were kept has none.
    state.anomalies = list(json.loads(meta.get("anomalies", "[]")))
    return state


def write_changes(conn: sqlite3.Connection, changes: ChangeSet, counts: dict[str, int]) -> None:
    """One transaction's snapshot rows (R8): orders, slots, keys, parked evidence, counts, anomalies."""
    if changes.orders:
        order_rows = [
            (
                r.client_id,
                r.order_id,
                r.level,
                r.generation,
                int(r.pre_state is not None),
                int(r.filled > 0 and r.fees_incomplete()),
                record_to_json(r),
            )
            for r in changes.orders
        ]
        conn.executemany(
            "INSERT OR REPLACE INTO orders (client_id, order_id, level, generation, folded, incomplete, data, crc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*r, row_crc(r)) for r in order_rows],
        )
    if changes.slots:
        slot_rows = [
            (s.level, json.dumps(state_to_obj(s.checkpoint)), s.checkpoint_gen, s.next_gen) for s in changes.slots
        ]
        conn.executemany(
            "INSERT OR REPLACE INTO slots (level, base, base_gen, next_gen, crc) VALUES (?, ?, ?, ?, ?)",
            [(*r, row_crc(r)) for r in slot_rows],
        )
    if changes.keys:
        conn.executemany(
            "INSERT OR IGNORE INTO keys (key, crc) VALUES (?, ?)", [(k, row_crc((k,))) for k in changes.keys]
        )
    if changes.parked_add:
        parked_rows = [(key, order_id, evidence_to_json(ev)) for order_id, key, ev in changes.parked_add]
        conn.executemany(
            "INSERT OR REPLACE INTO parked (key, order_id, evidence, crc) VALUES (?, ?, ?, ?)",
            [(*r, row_crc(r)) for r in parked_rows],
        )
    if changes.parked_done:
        conn.executemany("DELETE FROM parked WHERE key = ?", [(k,) for k in changes.parked_done])
    put_meta(conn, [("counts", dumps_compact(counts))])
    if changes.anomalies is not None:  # raised or cleared: same transaction as its cause (R8)
        put_meta(conn, [("anomalies", json.dumps(list(changes.anomalies), separators=_COMPACT))])
