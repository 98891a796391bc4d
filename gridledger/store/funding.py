"""Funding payments in the journal: the ``funding`` table and the grid's funding start.

Each payment the funding book (``gridledger.ledger.funding``) applies is written in its own
transaction, with its raw row, source and checksum (R8: a crash leaves it recorded or not at
all, and a payment not recorded is read again from the income history: its id makes the
second read a duplicate). Opening restores every recorded payment into the book, so a
restart neither forgets one nor counts it twice (R9).

The funding start (``x:funding_since_ms`` in ``meta``) is fixed the first time a perpetual
grid runs on this journal: payments booked earlier are for whatever the account held before.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from gridledger.ledger.funding import FundingBook, FundingPayment
from gridledger.store.errors import JournalError
from gridledger.store.integrity import check_row, damaged, row_crc
from gridledger.store.journal import Journal
from gridledger.store.schema import sqlite_error
from gridledger.store.snapshot import put_meta

__all__ = ["RAW_CAP", "FundingStore"]

_T = TypeVar("_T")

RAW_CAP = 2000  # characters of a payment's raw row kept (an income row is ~200)
_SINCE = "x:funding_since_ms"
_COLS = "payment_id, symbol, asset, amount, ts, received_at, source, raw, crc"


class FundingStore:
    """Reads and writes the funding rows of one open journal (it holds the journal's lock)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._conn: sqlite3.Connection = journal._conn  # the journal's connection: same file, same lock
        self.path = journal.path

    # ------------------------------------------------------------------ opening
    def open_book(self, now_ms: int) -> FundingBook:
        """The grid's funding book with every recorded payment; fixes the funding start at
        ``now_ms`` if this journal has none yet."""
        since = self._since()
        if since is None:
            since = now_ms
            self._write(lambda: put_meta(self._conn, [(_SINCE, str(since))]))
        book = FundingBook(self.journal.grid.symbol, since)
        book.restore(self.payments())
        return book

    def _since(self) -> int | None:
        row = self._read(
            lambda: self._conn.execute("SELECT key, value, crc FROM meta WHERE key = ?", (_SINCE,)).fetchone()
        )
        if row is None:
            return None
        text = str(check_row("meta", row, self.path)[1])
        try:
            return int(text)
        except ValueError:
            raise damaged(self.path, f"the funding start {text[:40]!r} is not an integer") from None

    def payments(self) -> list[FundingPayment]:
        rows = self._read(lambda: self._conn.execute(f"SELECT {_COLS} FROM funding ORDER BY ts, payment_id").fetchall())
        out = []
        for row in rows:
            pid, symbol, asset, amount, ts, *_ = check_row("funding", row, self.path)
            try:
                out.append(FundingPayment(str(pid), str(symbol), str(asset), Decimal(str(amount)), int(ts)))
            except (ValueError, ArithmeticError) as exc:
                raise damaged(self.path, f"funding row {str(pid)[:60]!r} does not decode: {exc}") from None
        return out

    # ------------------------------------------------------------------ writing
    def record(self, payment: FundingPayment, raw: object, *, source: str, received_at: int | None) -> None:
        """Persist one applied payment (R8: its own transaction, committed before returning)."""
        text = raw if isinstance(raw, str) else json.dumps(raw, separators=(",", ":"), default=str)
        values = (
            payment.payment_id,
            payment.symbol,
            payment.asset,
            str(payment.amount),
            payment.timestamp,
            received_at,
            source[:40],
            text[:RAW_CAP],
        )
        self._write(
            lambda: self._conn.execute(
                f"INSERT OR IGNORE INTO funding ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, row_crc(values)),
            )
        )

    def _write(self, fn: Callable[[], Any]) -> None:
        # The journal commits in its own transactions and none is open between two calls on
        # this single-threaded engine, so this one cannot interleave with them.
        self.journal._check_usable()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                fn()
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except JournalError:
            raise
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None

    def _read(self, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None
