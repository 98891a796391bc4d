"""The journal's tables, opening a connection with every SQLite failure made one line, and
the one-way migration of version-1 journals.

Version 2 (issue 7 items 6 and 14) adds a checksum column to every state row, an outcome
counter table (duplicates and stale reports are counted, not stored), and the length and
SHA-256 of stored raw text (a rejected message keeps only a bounded prefix). A version-1
journal is migrated in place, in one transaction, the first time this version opens it;
after that an older gridledger refuses it by its schema version.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gridledger.store.errors import JournalError
from gridledger.store.integrity import JOURNAL_COLUMNS, STATE_TABLES, damaged, row_crc, structure_check

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, crc INTEGER);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    received_at INTEGER,
    source TEXT NOT NULL,
    raw TEXT NOT NULL,
    outcomes TEXT NOT NULL,
    raw_len INTEGER,
    raw_sha256 TEXT,
    crc INTEGER
);
CREATE INDEX IF NOT EXISTS journal_digest ON journal (raw_sha256) WHERE raw_sha256 IS NOT NULL;
CREATE TABLE IF NOT EXISTS orders (
    client_id TEXT PRIMARY KEY,
    order_id TEXT,
    level INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    folded INTEGER NOT NULL,
    incomplete INTEGER NOT NULL,
    data TEXT NOT NULL,
    crc INTEGER
);
CREATE INDEX IF NOT EXISTS orders_by_order_id ON orders (order_id);
CREATE INDEX IF NOT EXISTS orders_folded ON orders (level, generation) WHERE folded = 1;
CREATE INDEX IF NOT EXISTS orders_open ON orders (folded) WHERE folded = 0;
CREATE INDEX IF NOT EXISTS orders_incomplete ON orders (incomplete) WHERE incomplete = 1;
CREATE TABLE IF NOT EXISTS slots (
    level INTEGER PRIMARY KEY,
    base TEXT NOT NULL,
    base_gen INTEGER NOT NULL,
    next_gen INTEGER NOT NULL,
    crc INTEGER
);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, crc INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parked (key TEXT PRIMARY KEY, order_id TEXT NOT NULL, evidence TEXT NOT NULL, crc INTEGER);
CREATE TABLE IF NOT EXISTS counters (
    outcome TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    crc INTEGER,
    PRIMARY KEY (outcome, source_kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS funding (
    payment_id TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    asset TEXT NOT NULL,
    amount TEXT NOT NULL,
    ts INTEGER NOT NULL,
    received_at INTEGER,
    source TEXT NOT NULL,
    raw TEXT NOT NULL,
    crc INTEGER
);
"""
# The funding table (perpetual grids, store/funding.py) is additive: ``CREATE TABLE IF NOT
# EXISTS`` above adds it to a version-2 journal on open (and after a version-1 migration), so
# it needs no version of its own; a gridledger without it reads such a journal unchanged.

# What a version-1 journal lacks.
_V1_COLUMNS = {
    "meta": ["crc INTEGER"],
    "journal": ["raw_len INTEGER", "raw_sha256 TEXT", "crc INTEGER"],
    "orders": ["crc INTEGER"],
    "slots": ["crc INTEGER"],
    "keys": ["crc INTEGER"],
    "parked": ["crc INTEGER"],
}


def connect(path: str | Path, synchronous: str = "FULL", *, check: bool = True) -> sqlite3.Connection:
    """Open (or create) a journal file, migrate it, and check its pages; ``JournalError`` on any failure.

    The caller holds the journal's lock (``store.lock``) when it will write.
    """
    p = Path(path)
    if p.is_dir():
        raise JournalError(f"journal {path} is a directory; give a file path with --db")
    existed = p.exists() and p.stat().st_size > 0
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(str(p), isolation_level=None, check_same_thread=False)
        conn.create_function("gl_crc", -1, lambda *v: row_crc(v), deterministic=True)
        if existed and check:
            structure_check(conn, path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys=OFF")
        version = stored_version(conn)
        if version == 1:
            migrate_v1(conn)
        elif version is not None and version != SCHEMA_VERSION:
            raise JournalError(
                f"journal {path} has schema version {version}; this gridledger reads version {SCHEMA_VERSION}"
                f"{' (it was written by a newer gridledger)' if version > SCHEMA_VERSION else ''}"
            )
        conn.executescript(SCHEMA)
        return conn
    except JournalError:
        if conn is not None:
            conn.close()
        raise
    except (sqlite3.Error, ValueError) as exc:  # ValueError: stored text that is not UTF-8
        if conn is not None:
            conn.close()
        raise sqlite_error(path, exc) from None


def sqlite_error(path: object, exc: BaseException) -> JournalError:
    """One line for a user, whatever SQLite said."""
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        return JournalError(f"journal {path} is read-only ({text}); gridledger must write its journal")
    if "unable to open" in low:
        return JournalError(f"cannot open journal {path} ({text}): check the path and its permissions")
    if isinstance(exc, sqlite3.OperationalError) and not any(
        w in low for w in ("malformed", "not a database", "corrupt")
    ):
        return JournalError(f"journal {path}: {text}")
    return damaged(path, text)


def stored_version(conn: sqlite3.Connection) -> int | None:
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return None
    try:
        return int(row[0])
    except ValueError:
        return -1


def migrate_v1(conn: sqlite3.Connection) -> None:
    """Version 1 -> 2 in one transaction: add the new columns, checksum every state row, seed
    the counters from the outcome counts, and remember the message count and last time."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, columns in _V1_COLUMNS.items():
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            for col in columns:
                if col.split()[0] not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {col}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS counters (outcome TEXT NOT NULL, source_kind TEXT NOT NULL, "
            "n INTEGER NOT NULL, crc INTEGER, PRIMARY KEY (outcome, source_kind)) WITHOUT ROWID"
        )
        messages, last = conn.execute("SELECT count(*), max(received_at) FROM journal").fetchone()
        counts_row = conn.execute("SELECT value FROM meta WHERE key = 'counts'").fetchone()
        counts = json.loads(counts_row[0]) if counts_row else {}
        for outcome, n in counts.items():
            if n:
                conn.execute(
                    "INSERT OR REPLACE INTO counters (outcome, source_kind, n) VALUES (?, 'before-v2', ?)",
                    (outcome, int(n)),
                )
        conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [
                ("schema_version", str(SCHEMA_VERSION)),
                ("messages", str(messages)),
                ("last_received_at", "" if last is None else str(last)),
            ],
        )
        have_tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, (checked, _) in STATE_TABLES.items():
            if table in have_tables:  # tables added after version 2 (funding) are created empty later
                conn.execute(f"UPDATE {table} SET crc = gl_crc({', '.join(checked)})")
        # Legacy audit rows keep their text; `journal compact` trims them. Their checksum is
        # computed now so that export can tell later damage from legacy rows.
        conn.execute(f"UPDATE journal SET raw_len = length(raw), crc = gl_crc({', '.join(JOURNAL_COLUMNS)})")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def file_size(path: str | Path) -> int:
    """Bytes on disk: the database and its write-ahead log."""
    total = 0
    for suffix in ("", "-wal"):
        q = Path(str(path) + suffix)
        if q.exists():
            total += q.stat().st_size
    return total
