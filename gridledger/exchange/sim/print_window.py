"""The rolling 24 h window of public prints behind the simulated venue's ticker statistics.

Running sums and monotonic queues keep a ticker per tick O(1) amortised over a day of
one-second ticks.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from gridledger.domain.numbers import ZERO
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimMarketSpec, TickerStats

DAY_MS = 86_400_000


class PrintWindow:
    """The prints of the last 24 h (each numbered), their volume sums, high and low."""

    def __init__(self) -> None:
        self.prints: deque[tuple[int, Tick]] = deque()
        self._highs: deque[tuple[int, Decimal]] = deque()
        self._lows: deque[tuple[int, Decimal]] = deque()
        self._volume = ZERO
        self._quote = ZERO
        self._prev_close: Decimal | None = None
        self._print_id = 0

    def record(self, tick: Tick) -> None:
        self._print_id += 1
        pid = self._print_id
        self.prints.append((pid, tick))
        self._volume += tick.volume
        self._quote += tick.price * tick.volume
        while self._highs and self._highs[-1][1] <= tick.price:
            self._highs.pop()
        self._highs.append((pid, tick.price))
        while self._lows and self._lows[-1][1] >= tick.price:
            self._lows.pop()
        self._lows.append((pid, tick.price))
        while self.prints[0][1].ts_ms <= tick.ts_ms - DAY_MS:
            old_id, old = self.prints.popleft()
            self._prev_close = old.price
            self._volume -= old.volume
            self._quote -= old.price * old.volume
            if self._highs[0][0] == old_id:
                self._highs.popleft()
            if self._lows[0][0] == old_id:
                self._lows.popleft()

    def stats(self, spec: SimMarketSpec, last: Tick, event_ms: int) -> TickerStats:
        """The ticker as of ``last`` (the most recent print, already recorded)."""
        first_id, first = self.prints[0]
        step = spec.price_step
        return TickerStats(
            symbol=spec.venue_id,
            last=last.price,
            last_qty=last.volume,
            open=first.price,
            high=self._highs[0][1],
            low=self._lows[0][1],
            prev_close=self._prev_close if self._prev_close is not None else first.price,
            volume=self._volume,
            quote_volume=self._quote,
            open_time=max(last.ts_ms - DAY_MS, first.ts_ms),
            close_time=last.ts_ms,
            first_id=first_id,
            last_id=self.prints[-1][0],
            count=len(self.prints),
            bid=max(last.price - step, step),
            ask=last.price + step,
            bid_qty=last.volume,
            ask_qty=last.volume,
            event_ms=event_ms,
        )
