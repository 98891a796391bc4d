"""``gridledger journal compact``: drop stored text that no longer serves, then VACUUM.

A version-1 journal kept every delivered message, duplicates included (issue 7 item 14).
Compacting migrates it to version 2 and keeps only what a current journal keeps: evidence
that changed something, intents, and one bounded copy of each distinct rejection. The
state tables are not touched (they were checked first, and the state after equals the
state before); the outcome counters already count every dropped message. It writes, so it
takes the journal's lock and refuses while another process holds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from gridledger.store import lock as journal_lock
from gridledger.store.errors import JournalError
from gridledger.store.integrity import JOURNAL_COLUMNS, row_crc, verify_state_tables
from gridledger.store.journal import REJECTED_RAW_CAP
from gridledger.store.schema import connect, file_size, sqlite_error

_KEEP = frozenset({"APPLIED", "PARKED", "FOREIGN"})


@dataclass(frozen=True, slots=True)
class CompactResult:
    bytes_before: int
    bytes_after: int
    rows_before: int
    rows_after: int


def compact(path: str | Path) -> CompactResult:
    p = Path(path)
    if not p.is_file():
        raise JournalError(f"journal {path} {'is a directory' if p.is_dir() else 'does not exist'}")
    with journal_lock.acquire(path):
        before = file_size(p)
        conn = connect(p, "FULL")
        try:
            verify_state_tables(conn, path)
            rows_before = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
            drop, trim = _plan(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("DELETE FROM journal WHERE seq = ?", [(s,) for s in drop])
                conn.executemany("UPDATE journal SET raw = ?, raw_len = ?, raw_sha256 = ?, crc = ? WHERE seq = ?", trim)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            rows_after = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
        except JournalError:
            raise
        except Exception as exc:
            raise sqlite_error(path, exc) from None
        finally:
            conn.close()
    return CompactResult(before, file_size(p), rows_before, rows_after)


def _plan(conn) -> tuple[list[int], list[tuple]]:
    """Which rows go, and which rejections are cut to their bounded prefix."""
    drop: list[int] = []
    trim: list[tuple] = []
    seen: set[str] = set()
    cols = ", ".join(("seq", *JOURNAL_COLUMNS))
    for seq, received_at, source, raw, outcomes, raw_len, digest in conn.execute(f"SELECT {cols} FROM journal"):
        if source == "intent":
            continue
        kinds = {item[0] for item in json.loads(outcomes)}
        if kinds & _KEEP:
            continue
        if not (kinds and kinds <= {"REJECTED"}):
            drop.append(seq)  # a duplicate, a stale report or a message with nothing to apply
            continue
        if digest is None:
            digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
        if digest in seen:
            drop.append(seq)
            continue
        seen.add(digest)
        length = raw_len if raw_len is not None else len(raw)
        if len(raw) > REJECTED_RAW_CAP or raw_len is None:
            short = raw[:REJECTED_RAW_CAP]
            trim.append((short, length, digest, row_crc((received_at, source, short, outcomes, length, digest)), seq))
    return drop, trim
