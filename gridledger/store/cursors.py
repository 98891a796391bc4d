"""The engine's cursors: what it must remember across restarts besides the ledger.

Two values today: the time of the newest fill seen from any source (where "trades since"
starts after a restart) and the position baseline of the drift check (what the venue held
before this grid's first order). They live in the journal's ``meta`` table, one row each
under an ``x:`` key (the keys journals have always used, so older files read unchanged),
and a change is written with the journal's next commit, in the same transaction as the
evidence it follows (R8): a crash never leaves a cursor ahead of the fills it counts.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gridledger.store.integrity import check_row, damaged
from gridledger.store.schema import sqlite_error

__all__ = ["EngineCursors"]

_LAST_TRADE = "x:trade_cursor_ms"
_BASELINE = "x:baseline_base"


def _finite_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _check_extra_key(key: str) -> None:
    if not key.startswith("x:") or key in (_LAST_TRADE, _BASELINE):
        raise ValueError(f"engine meta keys start with 'x:' and are not the cursors' own, got {key!r}")


class EngineCursors:
    """Typed getters and setters over the engine's meta rows; the journal writes the changes."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._pending: dict[str, str] = {}
        # Committed values already read. Only this journal writes these rows (it holds the
        # journal's lock), so they cannot change underneath; the engine reads the trade
        # cursor for every fill and must not pay a query each time.
        self._known: dict[str, str | None] = {}

    # ------------------------------------------------------------------ trade cursor
    @property
    def last_trade_ms(self) -> int | None:
        """Time (ms) of the newest fill seen; None for a journal that has seen none."""
        text = self._get(_LAST_TRADE)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            raise damaged(self._path, f"the trade cursor {text[:40]!r} is not an integer") from None

    @last_trade_ms.setter
    def last_trade_ms(self, ms: int) -> None:
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise TypeError(f"last_trade_ms must be an integer of milliseconds, got {ms!r}")
        self._pending[_LAST_TRADE] = str(ms)

    def advance_last_trade_ms(self, ms: int | None) -> bool:
        """Move the trade cursor forward to ``ms`` if it is newer (and positive); True if it moved.

        Never backwards: a late or replayed fill must not make the next restart fetch less."""
        if ms is None or ms <= (self.last_trade_ms or 0):
            return False
        self.last_trade_ms = ms
        return True

    # ------------------------------------------------------------------ drift baseline
    @property
    def position_baseline(self) -> Decimal | None:
        """What the venue held outside this grid when the drift check first ran; None before."""
        text = self._get(_BASELINE)
        if text is None:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise damaged(self._path, f"the position baseline {text[:40]!r} is not a number")
        return value

    @position_baseline.setter
    def position_baseline(self, value: Decimal) -> None:
        if not _finite_decimal(value):  # checked at run time too: a float here would be inexact (R5)
            raise TypeError(f"position_baseline must be a finite Decimal, got {value!r}")
        self._pending[_BASELINE] = str(value)

    # ------------------------------------------------------------------ other engine rows
    def get_text(self, key: str) -> str | None:
        """A meta row other engine parts keep here (``x:`` keys: the risk exit, store/exits.py)."""
        _check_extra_key(key)
        return self._get(key)

    def set_text(self, key: str, value: str | None) -> None:
        """Write (or, with None, clear) an ``x:`` meta row with the journal's next commit."""
        _check_extra_key(key)
        self._pending[key] = "" if value is None else value

    # ------------------------------------------------------------------ for the journal
    def pending_rows(self) -> list[tuple[str, str]]:
        """Meta rows changed since the last commit: the journal writes them in its transaction."""
        return list(self._pending.items())

    def written(self) -> None:
        """The journal committed the pending rows."""
        self._known.update(self._pending)
        self._pending.clear()

    def _get(self, key: str) -> str | None:
        if key in self._pending:
            return self._pending[key]
        if key in self._known:
            return self._known[key]
        try:
            row = self._conn.execute("SELECT key, value, crc FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise sqlite_error(self._path, exc) from None
        value = None if row is None else str(check_row("meta", row, self._path)[1])
        self._known[key] = value
        return value
