"""Streams and journals for the journal tests: a grid, a venue stream, a replay into a journal."""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
from decimal import Decimal
from pathlib import Path

from gridledger.config import Config, load_config
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.report import ledger_state
from gridledger.replay import replay
from gridledger.store.journal import Journal
from gridledger.testkit.synthetic import binance_reports, generate_history, interleave, with_faults

GRID = GridSpec("cli1", Instrument.from_symbol("BTC/USDT"), Decimal("30000"), Decimal("50"))
GRID_TOML = '[grid]\nid = "cli1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "50"\n'
# What the ledger holds, without the per-run and per-journal counters.
STATE_KEYS = ("slots", "position", "realized_pnl", "fees", "parked", "anomalies")


def config(tmp_path: Path) -> tuple[Path, Config]:
    path = tmp_path / "grid.toml"
    path.write_text(GRID_TOML)
    return path, load_config(path)


def venue_stream(n_orders: int, *, seed: int = 3, faults: bool = True) -> list[dict]:
    rng = random.Random(seed)
    hist = generate_history(rng, GRID, n_orders, levels=range(-8, 0))
    ids = itertools.count(1)
    streams = [binance_reports(GRID, o, ids) for o in hist]
    if faults:
        streams = [with_faults(rng, s, duplicate_p=0.3, reorder_window=4) for s in streams]
    return interleave(rng, streams)


def write_lines(path: Path, messages: list) -> Path:
    path.write_text("".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages))
    return path


def replay_into(db: Path, cfg: Config, *paths: Path) -> dict[str, int]:
    return replay(list(paths), cfg, db=db, group_commit=50).outcomes


def state_of(db: Path) -> dict:
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        doc = ledger_state(j.ledger)
    return {k: doc[k] for k in STATE_KEYS}


def stored_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    finally:
        conn.close()


def downgrade_to_v1(db: Path, duplicates: int = 0) -> None:
    """Rewrite a journal as version 1 wrote it (no checksums, no counters), with the
    duplicate rows version 1 kept for every repeated message."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP INDEX journal_digest")
    for table in ("meta", "journal", "orders", "slots", "keys", "parked"):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN crc")
    conn.execute("ALTER TABLE journal DROP COLUMN raw_len")
    conn.execute("ALTER TABLE journal DROP COLUMN raw_sha256")
    conn.execute("DROP TABLE counters")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.execute("DELETE FROM meta WHERE key IN ('messages', 'last_received_at')")
    last = conn.execute("SELECT max(seq) FROM journal").fetchone()[0] or 0
    for _ in range(duplicates):
        conn.execute(
            "INSERT INTO journal (received_at, source, raw, outcomes) SELECT received_at, source, raw, "
            "'[[\"DUPLICATE\",null,null,null,\"seen\"]]' FROM journal WHERE source != 'intent' "
            "AND seq <= ?",
            (last,),
        )
    # Version 1 counted those deliveries in its outcome counts, as version 2 does.
    added = conn.execute("SELECT count(*) FROM journal WHERE seq > ?", (last,)).fetchone()[0]
    counts = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'counts'").fetchone()[0])
    counts["DUPLICATE"] = counts.get("DUPLICATE", 0) + added
    conn.execute("UPDATE meta SET value = ? WHERE key = 'counts'", (json.dumps(counts),))
    conn.execute("VACUUM")
    conn.close()
