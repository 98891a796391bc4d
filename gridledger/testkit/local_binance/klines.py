"""``GET /api/v3/klines`` for the local server, with Binance's paging rules.

The server holds a candle history (``KlineHistory``: a generated series at one base interval,
e.g. ``gridledger.testkit.candles.generate_candles``); a request for a longer interval that is
a multiple of it is aggregated (open of the first, highest high, lowest low, close of the
last, summed volume), as Binance's own candles are.

Paging, as documented for Binance spot: ``limit`` defaults to 500, at most 1000 (more is
error -1130); candles whose open time is in ``[startTime, endTime]``; with ``startTime`` the
first ``limit`` of them, oldest first; with only ``endTime`` (or neither) the last ``limit``
before it. Rows are Binance's 12 fields, prices and volumes as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.params import Params

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
INTERVALS_MS = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class KlineHistory:
    """Candles at ``interval_ms``: ``ts_ms`` (open times) and ``open/high/low/close`` in integer
    ticks of ``price_step``, ``volume`` float64 (``generate_candles``' arrays)."""

    candles: dict[str, np.ndarray]
    interval_ms: int = 60_000
    price_step: Decimal = Decimal("0.01")


def _price(ticks: int, step: Decimal) -> str:
    return f"{Decimal(int(ticks)) * step:.8f}"


def klines(history: KlineHistory | None, params: Params, symbol: str) -> list[list[Any]]:
    if params.required("symbol") != symbol:
        raise ApiError(-1121, "Invalid symbol.")
    name = params.required("interval")
    size = INTERVALS_MS.get(name)
    if size is None:
        raise ApiError(-1120, "Invalid interval.")
    limit = params.integer("limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(-1130, "Data sent for parameter 'limit' is not valid.")
    start, end = params.integer("startTime"), params.integer("endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    if history is None or history.candles["ts_ms"].size == 0:
        return []
    if size % history.interval_ms:
        raise ApiError(-1120, "Invalid interval.")
    c = history.candles
    ts = c["ts_ms"]
    # Aggregate to the requested interval: group by the bucket of each base candle's open time.
    bucket = ts // size * size
    first = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    opens_at = bucket[first]
    lo = 0 if start is None else int(np.searchsorted(opens_at, start, side="left"))
    hi = opens_at.size if end is None else int(np.searchsorted(opens_at, end, side="right"))
    if start is not None:
        hi = min(hi, lo + limit)
    else:
        lo = max(lo, hi - limit)
    rows: list[list[Any]] = []
    bounds = np.r_[first, ts.size]
    step = history.price_step
    for k in range(lo, hi):
        a, b = int(bounds[k]), int(bounds[k + 1])
        t = int(opens_at[k])
        volume = float(np.sum(c["volume"][a:b]))
        close = Decimal(int(c["close"][b - 1])) * step
        rows.append([
            t, _price(c["open"][a], step), _price(np.max(c["high"][a:b]), step), _price(np.min(c["low"][a:b]), step),
            _price(c["close"][b - 1], step), f"{volume:.8f}", t + size - 1, f"{Decimal(f'{volume:.8f}') * close:.8f}",
            b - a, f"{volume / 2:.8f}", "0.00000000", "0",
        ])  # fmt: skip
    return rows
