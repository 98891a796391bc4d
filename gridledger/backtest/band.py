"""The band of prices in which nothing can happen, for the event-skipping search.

Between events ``decide()`` answers "nothing to do": no resting order is reached, the
trailing centre stays inside its hysteresis band, no refused post-only level becomes
placeable. ``EventBand._band`` gives that band's edges in ticks; ``backtest/search.py``
finds the first candle that reaches one of them.

``EventBand`` is a mixin of ``Backtest`` (``backtest/run.py``), which owns the state.
"""

from __future__ import annotations

from gridledger.backtest.account import RestingOrder
from gridledger.domain.types import Side
from gridledger.strategy import GridParams, SlotView, StrategyState, window_levels

NEVER_LOW = -1
NEVER_HIGH = 1 << 62


class EventBand:
    """The event band over ``Backtest``'s resting orders, centre and slots."""

    params: GridParams
    state: StrategyState
    live: dict[str, RestingOrder]
    decide_views: dict[int, SlotView]
    _anchor_ticks: int
    _interval_ticks: int
    _band_ticks: int
    _max_buy: int
    _min_sell: int
    _windows: dict[int, tuple[tuple[int, int], ...]]

    def _band(self, p: int) -> tuple[int, int]:
        """The prices (ticks) at or beyond which the next event happens: ``p <= lo`` or ``p >= hi``."""
        max_buy, min_sell = NEVER_LOW, NEVER_HIGH
        for order in self.live.values():
            if order.side is Side.BUY:
                if order.ticks > max_buy:
                    max_buy = order.ticks
            elif order.ticks < min_sell:
                min_sell = order.ticks
        self._max_buy, self._min_sell = max_buy, min_sell
        centre = self.state.centre
        if centre is None:
            return NEVER_HIGH, NEVER_HIGH
        c = self._anchor_ticks + centre * self._interval_ticks
        # next_centre moves when |price - centre price| > interval * (0.5 + hysteresis).
        lo = max(max_buy, c - self._band_ticks - 1)
        hi = min(min_sell, c + self._band_ticks + 1)
        # A post-only buy refused as "would cross" becomes placeable once the price is above it.
        # (A level with an order or sellable inventory gets no buy: decide() skips it first.)
        if self.params.post_only:
            window = self._windows.get(centre)
            if window is None:
                window = self._windows[centre] = tuple(
                    (level, self._anchor_ticks + level * self._interval_ticks)
                    for level in window_levels(centre, self.params.buy_window)
                )
            if window and window[0][1] >= p:  # nearest the centre first: the highest price
                for level, bt in window:
                    if bt >= p and level not in self.decide_views and bt + 1 < hi:
                        hi = bt + 1
        # A post-only closing sell at or below the price waits until the price is below it.
        if self.params.post_only_close:
            for level, view in self.decide_views.items():  # dust gets no sell: not a trigger
                if view.live is None and view.qty > 0:
                    st = self._anchor_ticks + (level + 1) * self._interval_ticks
                    if st <= p:
                        lo = max(lo, st - 1)
        return lo, hi
