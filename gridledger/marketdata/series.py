"""Columnar market data: one numpy array per column, never a Python object per row.

Prices are integer counts of the market's price step ("ticks"): ``int32`` while they fit
(below 2^31 steps), ``int64`` otherwise. That choice, rather than ``float64``, is what lets the
backtest compare a candle's high or low with an order's limit exactly (integer comparison, no
rounding at a level price) and turn any price back into the exact ``Decimal`` the venue would
print (``ticks * price_step``). Volumes are ``float32``: they are never booked.

Timestamps are ``int64`` milliseconds since the epoch (a candle's open time, a trade's time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

MIN_INTERVAL_MS = 1_000
MAX_INTERVAL_MS = 86_400_000


class DataError(ValueError):
    """A market data file that cannot be used; the message is one line naming file, line and column."""


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def interval_name(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True, slots=True)
class Gaps:
    """Missing candles: how many holes, how many candles are missing, the largest hole."""

    count: int = 0
    missing: int = 0
    largest_ms: int = 0
    largest_at_ms: int | None = None  # open time of the candle after the largest hole

    def describe(self) -> str:
        if not self.count:
            return "no gaps"
        return (
            f"{self.count} gaps ({self.missing} candles missing), the largest "
            f"{interval_name(self.largest_ms)} before {iso(self.largest_at_ms or 0)}"
        )


@dataclass(frozen=True, slots=True, eq=False)
class MarketData:
    """Candles (``kind == "candles"``) or trades (``kind == "trades"``), columnar.

    For trades, ``open``, ``high``, ``low`` and ``close`` are all the same array (each trade
    is a one-point path), so the backtest searches both kinds the same way.
    """

    kind: str  # "candles" or "trades"
    source: str  # file name, for messages
    fmt: str  # "binance-klines", "binance-aggtrades", "ohlcv", "trades"
    price_step: Decimal
    ts_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    interval_ms: int  # candles: inferred; trades: 0
    gaps: Gaps = Gaps()

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])

    @property
    def start_ms(self) -> int:
        return int(self.ts_ms[0])

    @property
    def end_ms(self) -> int:
        """End of the data: the last candle's close time (open + interval), or the last trade."""
        return int(self.ts_ms[-1]) + self.interval_ms

    def price(self, ticks: int) -> Decimal:
        """The exact price of ``ticks`` steps."""
        return Decimal(int(ticks)) * self.price_step

    def slice_time(self, from_ms: int | None, to_ms: int | None) -> MarketData:
        """Rows with ``from_ms <= ts < to_ms`` (views, no copy)."""
        lo = 0 if from_ms is None else int(np.searchsorted(self.ts_ms, from_ms, side="left"))
        hi = len(self) if to_ms is None else int(np.searchsorted(self.ts_ms, to_ms, side="left"))
        if hi <= lo:
            raise DataError(
                f"{self.source}: no {self.kind} between {iso(from_ms or self.start_ms)} and "
                f"{iso(to_ms or self.end_ms)} (the data covers {iso(self.start_ms)} to {iso(self.end_ms)})"
            )
        gaps = _gaps(self.ts_ms[lo:hi], self.interval_ms) if self.kind == "candles" else Gaps()
        return MarketData(
            self.kind,
            self.source,
            self.fmt,
            self.price_step,
            self.ts_ms[lo:hi],
            self.open[lo:hi],
            self.high[lo:hi],
            self.low[lo:hi],
            self.close[lo:hi],
            self.volume[lo:hi],
            self.interval_ms,
            gaps,
        )

    def describe(self) -> str:
        n = len(self)
        if self.kind == "candles":
            return (
                f"{n:,} {interval_name(self.interval_ms)} candles ({self.fmt}) from {iso(self.start_ms)} "
                f"to {iso(self.end_ms)}, {self.gaps.describe()}"
            )
        what = "" if self.fmt == "trades" else f" ({self.fmt})"
        return f"{n:,} trades{what} from {iso(self.start_ms)} to {iso(int(self.ts_ms[-1]))}"


def _gaps(ts: np.ndarray, interval_ms: int) -> Gaps:
    if ts.shape[0] < 2 or interval_ms <= 0:
        return Gaps()
    diffs = np.diff(ts)
    holes = np.flatnonzero(diffs > interval_ms)
    if holes.size == 0:
        return Gaps()
    sizes = diffs[holes]
    k = int(np.argmax(sizes))
    missing = int(np.sum(sizes // interval_ms - 1))
    return Gaps(int(holes.size), missing, int(sizes[k] - interval_ms), int(ts[holes[k] + 1]))
