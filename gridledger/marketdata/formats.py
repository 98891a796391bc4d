"""The file formats we read, and how the first line tells them apart.

| format | header | columns used |
|---|---|---|
| ``binance-klines`` (data.binance.vision ``klines``) | none (or Binance's own) | 12: open_time, open, high, low, close, volume, close_time, ... |
| ``binance-aggtrades`` (``aggTrades``) | none (or Binance's own) | 7 or 8: agg_trade_id, price, quantity, first/last trade id, transact_time, is_buyer_maker[, is_best_match] |
| ``ohlcv`` (ccxt ``fetch_ohlcv`` rows) | ``timestamp,open,high,low,close,volume`` (or ``timestamp_ms,...``), or none with 6 numeric columns | all |
| ``trades`` | ``timestamp_ms,price,amount`` (or ``timestamp,...``), or none with 3 numeric columns | all |

Binance's timestamps are milliseconds, and microseconds in spot files from 2025 on: any
timestamp at or above 10^14 (a date past the year 5000 in milliseconds) is read as
microseconds, per value, so a file that mixes both (two months concatenated) reads right.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    kind: str  # "candles" or "trades"
    columns: tuple[str, ...]  # names, for messages
    ts: int  # column of the timestamp
    prices: tuple[int, ...]  # open, high, low, close (candles) or price (trades)
    volume: int
    close_time: int | None = None
    widths: tuple[int, ...] = ()  # accepted column counts (default: len(columns))

    def accepts(self, n: int) -> bool:
        return n in (self.widths or (len(self.columns),))


KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
AGG_COLUMNS = (
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
    "is_best_match",
)

BINANCE_KLINES = Format("binance-klines", "candles", KLINE_COLUMNS, 0, (1, 2, 3, 4), 5, close_time=6)
BINANCE_AGGTRADES = Format("binance-aggtrades", "trades", AGG_COLUMNS, 5, (1,), 2, widths=(7, 8))
OHLCV_MS = Format("ohlcv", "candles", ("timestamp_ms", "open", "high", "low", "close", "volume"), 0, (1, 2, 3, 4), 5)
OHLCV = Format("ohlcv", "candles", ("timestamp", "open", "high", "low", "close", "volume"), 0, (1, 2, 3, 4), 5)
TRADES_MS = Format("trades", "trades", ("timestamp_ms", "price", "amount"), 0, (1,), 2)
TRADES = Format("trades", "trades", ("timestamp", "price", "amount"), 0, (1,), 2)

_HEADERS = {
    OHLCV.columns: OHLCV,
    OHLCV_MS.columns: OHLCV_MS,
    TRADES.columns: TRADES,
    TRADES_MS.columns: TRADES_MS,
    KLINE_COLUMNS: BINANCE_KLINES,
    AGG_COLUMNS: BINANCE_AGGTRADES,
    AGG_COLUMNS[:7]: BINANCE_AGGTRADES,
}

KNOWN = (
    "Binance klines (12 columns, no header), Binance aggTrades (7 or 8 columns, no header), "
    "timestamp,open,high,low,close,volume (ccxt OHLCV) or timestamp_ms,price,amount (trades)"
)


def _numeric(cell: str) -> bool:
    text = cell.strip()
    if not text:
        return False
    try:
        float(text)
    except ValueError:
        return text.lower() in ("true", "false")  # aggTrades' booleans
    return True


def detect(first: list[str]) -> tuple[Format, bool]:
    """The format of a file from its first non-empty line's cells; ``True`` if that line is a header.

    Raises ``ValueError`` with the reason (the caller adds file and line).
    """
    if not all(_numeric(c) for c in first):
        names = tuple(c.strip().lower() for c in first)
        fmt = _HEADERS.get(names)
        if fmt is None:
            raise ValueError(f"unknown header {','.join(first)[:120]!r}; expected {KNOWN}")
        return fmt, True
    n = len(first)
    if n == 12:
        return BINANCE_KLINES, False
    if n in (7, 8):
        return BINANCE_AGGTRADES, False
    if n == 6:
        return OHLCV_MS, False
    if n == 3:
        return TRADES_MS, False
    raise ValueError(f"{n} columns without a header; expected {KNOWN}")
