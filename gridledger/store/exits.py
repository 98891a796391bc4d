"""The risk exit's durable state: the trigger (why, at what price, when, with what position),
its phase, and the equity peak the drawdown is measured from.

Two ``x:`` rows of the journal's ``meta`` table (checksummed like every state row), written
through the engine's cursors (``store/cursors.py``) in the journal's next commit. A trigger
is committed before any order is cancelled or placed for it, so a restart finds it and
neither forgets nor repeats the exit. No schema change: journals without the rows read as
"no exit, no peak yet", and an older gridledger ignores them.

``clear_exit`` is the explicit resume (``gridledger journal clear-exit --db FILE``): it
takes the journal's lock, so the engine must be stopped.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from gridledger.domain.numbers import fmt
from gridledger.store import lock as journal_lock
from gridledger.store.errors import JournalError
from gridledger.store.integrity import check_row, damaged, verify_state_tables
from gridledger.store.journal import Journal
from gridledger.store.schema import connect, sqlite_error

EXIT_KEY = "x:risk_exit"
PEAK_KEY = "x:risk_peak"
Phase = Literal["cancel", "close", "done"]
PHASES: tuple[Phase, ...] = ("cancel", "close", "done")


@dataclass(frozen=True, slots=True)
class ExitRecord:
    """A fired risk exit. ``phase``: cancelling the grid's orders, closing its inventory, done."""

    kind: str
    detail: str
    price: Decimal
    ts_ms: int
    position: Decimal
    phase: Phase = "cancel"

    def to_json(self) -> str:
        doc = asdict(self)
        doc["price"], doc["position"] = str(self.price), str(self.position)
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, path: object) -> ExitRecord:
        try:
            doc = json.loads(text)
            rec = cls(
                kind=str(doc["kind"]),
                detail=str(doc["detail"]),
                price=Decimal(str(doc["price"])),
                ts_ms=int(doc["ts_ms"]),
                position=Decimal(str(doc["position"])),
                phase=doc["phase"],
            )
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise damaged(path, f"the risk exit row {text[:60]!r} cannot be read") from None
        if rec.phase not in PHASES or not rec.price.is_finite() or not rec.position.is_finite():
            raise damaged(path, f"the risk exit row {text[:60]!r} cannot be read")
        return rec

    def at(self, phase: Phase) -> ExitRecord:
        return replace(self, phase=phase)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, decimals as strings (status, reports)."""
        return {
            "kind": self.kind,
            "detail": self.detail,
            "price": fmt(self.price),
            "ts_ms": self.ts_ms,
            "position": fmt(self.position),
            "phase": self.phase,
        }


class ExitStore:
    """The exit and peak rows of one open journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def load(self) -> ExitRecord | None:
        text = self.journal.cursors.get_text(EXIT_KEY)
        return ExitRecord.from_json(text, self.journal.path) if text else None

    def save(self, record: ExitRecord) -> None:
        """Write and commit now: the caller acts on the record only once it is durable."""
        self.journal.cursors.set_text(EXIT_KEY, record.to_json())
        self.journal.commit()

    def peak(self) -> Decimal | None:
        text = self.journal.cursors.get_text(PEAK_KEY)
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise damaged(self.journal.path, f"the equity peak {text[:40]!r} is not a number")
        return value

    def set_peak(self, value: Decimal) -> None:
        """Written with the journal's next commit (evidence commits often; a crash loses at
        most a peak that only prices since the last commit had reached)."""
        self.journal.cursors.set_text(PEAK_KEY, str(value))


def _rows(conn: sqlite3.Connection, path: object) -> dict[str, str]:
    rows = {}
    for row in conn.execute("SELECT key, value, crc FROM meta WHERE key IN (?, ?)", (EXIT_KEY, PEAK_KEY)):
        key, value = check_row("meta", row, path)[:2]
        rows[str(key)] = str(value)
    return rows


def clear_exit(path: str | Path) -> ExitRecord | None:
    """Forget the journal's risk exit and equity peak (the user's explicit resume).

    Returns the exit that was cleared, or None if there was none. Refused while the journal
    is open elsewhere (its lock)."""
    p = Path(path)
    if not p.is_file():
        raise JournalError(f"journal {path} {'is a directory' if p.is_dir() else 'does not exist'}")
    with journal_lock.acquire(path):
        conn = connect(p, "FULL")
        try:
            verify_state_tables(conn, path)
            rows = _rows(conn, path)
            text = rows.get(EXIT_KEY)
            record = ExitRecord.from_json(text, path) if text else None
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (EXIT_KEY, PEAK_KEY))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return record
        except JournalError:
            raise
        except Exception as exc:
            raise sqlite_error(path, exc) from None
        finally:
            conn.close()


__all__ = ["EXIT_KEY", "PEAK_KEY", "PHASES", "ExitRecord", "ExitStore", "Phase", "clear_exit"]
