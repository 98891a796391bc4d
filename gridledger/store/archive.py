"""Reading committed rows, the ledger's ``Archive`` port (R9): finished orders and dedupe keys.

Finished orders are not kept in RAM: the ledger asks its archive on a miss, however old
the order. ``Journal`` is a ``JournalArchive``, so the journal it opened is the ledger's
archive. Rows read after open are checked again (damage can appear while a journal is
open), and a read that fails or a value that does not decode is one line naming the
journal as damaged (``store.integrity``), never a traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from gridledger.ledger.records import OrderRecord
from gridledger.store.codec import CodecError, record_from_json
from gridledger.store.errors import JournalError
from gridledger.store.integrity import check_row, damaged
from gridledger.store.schema import sqlite_error

__all__ = ["JournalArchive"]

_T = TypeVar("_T")


class JournalArchive:
    """Checked reads of a journal's committed rows over its connection."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """SQLite errors while reading, and values that do not decode, mean damage: one line."""
        try:
            yield
        except JournalError:
            raise
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from None
        except CodecError as exc:
            raise damaged(self.path, str(exc)) from None
        except (ValueError, KeyError, TypeError, IndexError, ArithmeticError) as exc:
            raise damaged(self.path, f"a stored value does not decode: {type(exc).__name__}") from None

    def _read(self, fn: Callable[[], _T]) -> _T:
        with self._reading():
            return fn()

    # ------------------------------------------------------------------ the Archive port
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
            row = self._conn.execute(
                f"SELECT {self._ORDER_COLS} FROM orders WHERE client_id = ?", (client_id,)
            ).fetchone()
            return None if row is None else record_from_json(self._order(row, client_id=client_id)[6])

        return self._read(read)

    def client_id_for(self, order_id: str) -> str | None:
        def read() -> str | None:
            row = self._conn.execute(
                f"SELECT {self._ORDER_COLS} FROM orders WHERE order_id = ?", (order_id,)
            ).fetchone()
            return None if row is None else str(self._order(row, order_id=order_id)[0])

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
