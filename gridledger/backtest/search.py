"""Find the next candle where something can happen, with numpy, over the high/low arrays.

Between two events the backtest's state is fixed, and so is the band of prices in which
nothing can happen: no resting buy at or above the price, no resting sell at or below it,
the trailing centre inside its hysteresis band. The next event is the first candle whose
low reaches ``lo`` or whose high reaches ``hi``: its path (which visits the low and the
high) touches a trigger there and not before.

The scan looks at a short window first and doubles it while nothing is found, so a run of
a few candles costs one small comparison and a run of a month costs a few large ones.
"""

from __future__ import annotations

import numpy as np

_FIRST = 64
_LARGEST = 1 << 16


def next_event(low: np.ndarray, high: np.ndarray, start: int, lo: int, hi: int) -> int:
    """The first index ``i >= start`` with ``low[i] <= lo`` or ``high[i] >= hi``; ``len(low)`` if none."""
    n = low.shape[0]
    i = start
    size = _FIRST
    while i < n:
        j = min(n, i + size)
        if low is high:  # trades: one price per row
            window = low[i:j]
            hit = (window <= lo) | (window >= hi)
        else:
            hit = (low[i:j] <= lo) | (high[i:j] >= hi)
        k = int(hit.argmax())
        if hit[k]:
            return i + k
        i = j
        if size < _LARGEST:
            size *= 2
    return n
