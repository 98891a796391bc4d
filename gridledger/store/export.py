"""``gridledger journal export``: the stored evidence as JSON Lines that ``gridledger replay`` reads.

Only venue evidence is written, in journal order: messages that changed something (APPLIED,
PARKED, FOREIGN). Left out, with reasons counted: intents (our own record of an order before
it was sent, R7: not evidence of anything the venue did), the engine's synthetic
``rest:error`` answers (a refused order, rebuilt from the error text), rejections (kept only
as a bounded prefix for the audit), and legacy rows of duplicates or stale reports. Replaying
the export into a fresh journal rebuilds the same slots, position, PnL and fees.

Export only reads: it takes no lock, so it works beside a running engine (SQLite readers see
a consistent snapshot) and on a damaged journal, from which it saves what can be read.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gridledger.store.errors import JournalError
from gridledger.store.integrity import JOURNAL_COLUMNS, row_crc
from gridledger.store.schema import sqlite_error

_EVIDENCE = frozenset({"APPLIED", "PARKED", "FOREIGN"})
_NOT_EVIDENCE_SOURCES = frozenset({"intent", "rest:error"})


@dataclass(slots=True)
class ExportResult:
    exported: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    damaged_rows: int = 0
    stopped: str | None = None  # why reading stopped early (damage), if it did

    @property
    def complete(self) -> bool:
        return self.damaged_rows == 0 and self.stopped is None

    def skip(self, why: str) -> None:
        self.left_out[why] = self.left_out.get(why, 0) + 1


def open_for_reading(path: str | Path) -> sqlite3.Connection:
    p = Path(path)
    if p.is_dir():
        raise JournalError(f"journal {path} is a directory")
    if not p.is_file():
        raise JournalError(f"journal {path} does not exist")
    try:
        try:
            conn = _connect(str(p), uri=False)
        except sqlite3.OperationalError:
            # A read-only volume: a WAL journal cannot create its shared-memory file there.
            # Nothing can write it either, so read the file as it is.
            conn = _connect(p.resolve().as_uri() + "?immutable=1", uri=True)
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'journal'").fetchone() is None:
            conn.close()
            raise JournalError(f"{path} is not a gridledger journal (no journal table)")
        return conn
    except sqlite3.Error as exc:
        raise sqlite_error(path, exc) from None


def _connect(target: str, *, uri: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(target, isolation_level=None, uri=uri)
    # Damaged text must not stop the export: it decodes with escapes and fails its checksum.
    conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def export(path: str | Path, out: TextIO) -> ExportResult:
    conn = open_for_reading(path)
    result = ExportResult()
    try:
        have = {r[1] for r in conn.execute("PRAGMA table_info(journal)")}
        checked = "crc" in have
        cols = ", ".join(
            ("seq", *JOURNAL_COLUMNS, "crc") if checked else ("seq", "received_at", "source", "raw", "outcomes")
        )
        cursor = conn.execute(f"SELECT {cols} FROM journal ORDER BY seq")
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.Error as exc:
                result.stopped = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                break
            if row is None:
                break
            _one(row, checked, out, result)
    finally:
        conn.close()
    return result


def _one(row: tuple, checked: bool, out: TextIO, result: ExportResult) -> None:
    if checked:
        _seq, received_at, source, raw, outcomes, raw_len, digest, crc = row
        if crc is None or row_crc((received_at, source, raw, outcomes, raw_len, digest)) != crc:
            result.damaged_rows += 1
            return
    else:
        _seq, received_at, source, raw, outcomes = row
        raw_len = None
    if source in _NOT_EVIDENCE_SOURCES:
        result.skip("intent" if source == "intent" else "engine rest:error")
        return
    try:
        kinds = {item[0] for item in json.loads(outcomes)}
    except (ValueError, TypeError, IndexError, KeyError):
        result.damaged_rows += 1
        return
    if not kinds & _EVIDENCE:
        result.skip("rejected" if kinds and kinds <= {"REJECTED"} else "duplicate, stale or empty")
        return
    if raw_len is not None and raw_len != len(raw):
        result.skip("truncated")
        return
    # Raw newlines in JSON text can only be whitespace between tokens: one line per message.
    out.write(raw.replace("\r", " ").replace("\n", " ") + "\n")
    result.exported += 1
