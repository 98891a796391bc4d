"""The backtest loop: ``decide()`` and the ``Ledger`` driven over columnar market data.

No asyncio engine, no wire formats, no faults: the strategy is the same pure ``decide()``
the engine calls, and every fill reaches the same ``Ledger`` as evidence (an order
acknowledgement when an order rests, a ``TradeEvidence`` with our client id for each fill,
a cancel or rejection report), so the ledger books what it would book live.

**The intra-candle path.** A candle is played as four prices, a quarter of the interval
apart (the paper venue's timing): the open, then the low and the high, then the close. An
up candle (close above open) dips first and then rallies, O-L-H-C; a down candle rallies
first, O-H-L-C; a doji (close equal to open) is played as an up candle, O-L-H-C. Each leg
is the shortest way through the candle's range that still ends at the close, so the path
never crosses a level more often than the candle proves. Trades are one price each.

**The fill rule.** A resting buy fills when a path price is at or below its limit, a sell
when one is at or above; the fill is whole, at the limit price, as maker. A post-only order
that would cross the last price when placed is refused (as the venue refuses it); any other
crossing order fills at once at the last price, as taker. No volume share: the data's
volume is not a limit (the paper venue's ``participation`` is; keep orders small against
the market's volume when comparing the two).

**Decisions.** At each path price, fills first (the venue trades), then ``decide()`` at that
price (the engine reacts to the fill and the price). The last price of the data only fills:
no order placed after it could ever trade. ``decide()`` is pure, and between events (a
resting order reached, the centre leaving its hysteresis band, a refused post-only level
becoming placeable) its answer is "nothing to do", so whole runs of candles are skipped with
a vectorised search (``backtest/search.py``, over the band from ``backtest/band.py``) and
only event candles run Python code. The order book and the fill rule are ``backtest/venue.py``.
``skip=False`` decides at every price instead: the tests prove both give the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from gridledger.backtest.account import Account, RestingOrder
from gridledger.backtest.band import NEVER_HIGH, NEVER_LOW, EventBand
from gridledger.backtest.exits import BacktestExits
from gridledger.backtest.perp_account import PerpAccount
from gridledger.backtest.results import Counters, DiscardArchive, Fill, Marks
from gridledger.backtest.search import next_event
from gridledger.backtest.setup import BacktestSetup
from gridledger.backtest.venue import SOURCE, SimulatedVenue
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Direction, Role
from gridledger.ledger.changes import ChangeSet
from gridledger.ledger.ledger import Ledger
from gridledger.marketdata.series import MarketData
from gridledger.strategy import (
    Cancel,
    LiveOrder,
    Place,
    SlotView,
    StrategyState,
    decide,
    is_dust,
    order_price,
)


class Backtest(SimulatedVenue, EventBand, BacktestExits):
    """One run over one data set. ``run()`` once; the results stay on the object."""

    def __init__(self, setup: BacktestSetup, data: MarketData, *, skip: bool = True) -> None:
        self.setup = setup
        self.data = data
        # max_drawdown needs the equity at every price: no event skipping (backtest/exits.py).
        self.skip = skip and setup.risk.max_drawdown is None
        self.risk_exit: dict[str, Any] | None = None  # why the grid stopped, when a [risk] limit fired
        self._peak: Decimal | None = None  # the equity peak max_drawdown is measured from
        self.params = setup.params
        self.rules = setup.market.rules
        if data.price_step != self.rules.price_step:
            raise ValueError(
                f"the data was read with price step {data.price_step}, the market's is {self.rules.price_step}"
            )
        self.ledger = Ledger(setup.grid, archive=DiscardArchive())
        leverage = setup.market.leverage
        # A perpetual's account holds margin and a net position (backtest/perp_account.py).
        self.account = (
            PerpAccount(setup.market, setup.balances, leverage)
            if leverage is not None
            else Account(setup.market, setup.balances)
        )
        self.state = StrategyState()
        self.views: dict[int, SlotView] = {}  # the engine's slot_views(), kept current per level
        # What decide() is given in skip mode: the views minus dust-only slots (inventory too
        # small to sell, no order). decide() only writes a note for such a slot and treats its
        # level as free, exactly as when the slot is absent, so the actions are the same; the
        # notes cost microseconds each, and dust piles up in every level a year visits.
        self.decide_views: dict[int, SlotView] = {}
        self.live: dict[str, RestingOrder] = {}
        self.fills: list[Fill] = []
        self.marks = Marks()
        self.counters = Counters()
        self.symbol = setup.grid.symbol
        step = self.rules.price_step
        self._step = step
        self._anchor_ticks = int(self.params.anchor / step)
        self._interval_ticks = int(self.params.interval / step)
        band = self._interval_ticks * (Decimal("0.5") + self.params.hysteresis)
        self._band_ticks = int(band)  # floor: band >= 0
        # Levels the venue refused for lack of balance wait, as the engine makes them wait
        # (engine/runtime.py _place): 5 s, doubling to 10 min, from the refusal's answer.
        self._backoff: dict[int, tuple[int, int]] = {}  # level -> (retry at ms, last delay ms)
        self._latency_ms = setup.rest_latency_ms
        self.wake_at: int | None = None  # the next retry time, an event of its own
        self._next_order_id = 1
        self._next_trade_id = 1
        self._seq = 0
        self._level_cache: dict[int, tuple[Decimal, Decimal, Decimal]] = {}  # level -> (qty, cost, realized)
        self.qty = ZERO
        self.cost = ZERO
        self.realized = ZERO
        self._changed = False
        self._terminal = False  # an order ended at this price: fold it into its slot (R9)
        self._max_buy = NEVER_LOW  # highest resting buy, lowest resting sell (ticks), as of the last _band()
        self._min_sell = NEVER_HIGH
        self._windows: dict[int, tuple[tuple[int, int], ...]] = {}  # centre -> its buy window (level, ticks)
        self.last_ticks: int | None = None
        self.last_ts: int | None = None

    # ------------------------------------------------------------------ the loop
    def run(self, progress: Callable[[int, int], None] | None = None) -> Backtest:
        data = self.data
        n = len(data)
        low, high, opens, closes, ts = data.low, data.high, data.open, data.close, data.ts_ms
        candles = data.kind == "candles"
        quarter = data.interval_ms // 4
        lo, hi = NEVER_HIGH, NEVER_HIGH  # the first price always triggers: the first decision
        last = n - 1
        i = 0
        report_every = max(1, n // 100)
        next_report = report_every
        while i < n:
            if self.skip:
                found = next_event(low, high, i, lo, hi)
                if self.wake_at is not None:
                    # The first candle holding a price at or after the retry time.
                    found = min(found, max(i, int(np.searchsorted(ts, self.wake_at - 3 * quarter, side="left"))))
                i = found
                if i >= n:
                    break
            if progress is not None and i >= next_report:
                progress(i, n)
                next_report = i + report_every
            t0 = int(ts[i])
            if candles:
                o, c = int(opens[i]), int(closes[i])
                lw, hg = int(low[i]), int(high[i])
                path: tuple[int, ...] = (o, lw, hg, c) if c >= o else (o, hg, lw, c)
            else:
                path = (int(low[i]),)
            self._changed = False
            for k, p in enumerate(path):
                t = t0 + k * quarter
                if self.skip and lo < p < hi and (self.wake_at is None or t < self.wake_at):
                    continue
                self.last_ticks, self.last_ts = p, t
                self.counters.events += 1
                self._fill_at(p, t)
                if not (i == last and k == len(path) - 1):
                    self._decide_at(p, t)
                self._flush()
                lo, hi = self._risk_band(*self._band(p))
                self.wake_at = min((r for r, _ in self._backoff.values() if r > t), default=None)
            if self._changed:
                self._mark(i)
            centre = self.state.centre
            if centre is not None and (not self.marks.centre or self.marks.centre[-1] != centre):
                self.marks.centre_index.append(i)
                self.marks.centre.append(centre)
            i += 1
        self.last_ticks = int(closes[-1])
        self.last_ts = int(ts[-1]) + (3 * quarter if candles else 0)
        if progress is not None:
            progress(n, n)
        return self

    # ------------------------------------------------------------------ engine side
    def _decide_at(self, p: int, t: int) -> None:
        price = Decimal(p) * self._step
        if self._exit_step(p, price, t):
            return  # a risk exit owns the grid: nothing is decided from here on
        views = self.decide_views if self.skip else self.views
        decision = self._capped(decide(self.state, self.params, self.rules, price, views, paused=self.setup.paused))
        self.counters.decisions += 1
        self.state = decision.state
        for action in decision.actions:
            if isinstance(action, Cancel):
                self._cancel(action, t)
            elif isinstance(action, Place):
                waiting = self._backoff.get(action.level)
                if waiting is not None and t < waiting[0]:
                    continue  # as the engine: a refused level waits its back-off out
                if self.setup.paused and action.role is Role.OPEN:
                    continue  # as the engine: paused means no opening orders
                self._place(action, p, price, t)

    # ------------------------------------------------------------------ bookkeeping
    def _refresh(self, level: int) -> None:
        """The strategy's view of one slot, and the running totals, after it changed."""
        self._changed = True
        slot = self.ledger.slots[level]
        state = slot.state
        bound = slot.bound
        if bound is None and state.qty <= 0:
            self.views.pop(level, None)
            self.decide_views.pop(level, None)
        else:
            live = None
            if bound is not None:
                live = LiveOrder(
                    client_id=bound.client_id,
                    side=bound.side,
                    role=bound.role,
                    price=bound.price or self.setup.grid.level_price(level),
                    amount=bound.amount or ZERO,
                    filled=bound.filled,
                )
            view = self.views[level] = SlotView(level=level, qty=max(state.qty, ZERO), live=live)
            if live is None and is_dust(view.qty, order_price(self.params, self.rules, level + 1), self.rules):
                self.decide_views.pop(level, None)
            else:
                self.decide_views[level] = view
        old = self._level_cache.get(level, (ZERO, ZERO, ZERO))
        self._level_cache[level] = (state.qty, state.cost, state.realized)
        # Signed by the slot's direction: a short slot's inventory is owed and its basis is what
        # its sells brought in, so realized - cost + qty x price is the equity for every direction.
        sign = -1 if self.setup.grid.level_direction(level) is Direction.SHORT else 1
        self.qty += sign * (state.qty - old[0])
        self.cost += sign * (state.cost - old[1])
        self.realized += state.realized - old[2]

    def _flush(self) -> None:
        # Finished orders are folded into their slot's checkpoint and leave RAM (R9), so a
        # year of fills costs no more memory than a day's.
        if not self._terminal:
            return
        self._terminal = False
        changes: ChangeSet = self.ledger.take_changes()
        self.ledger.committed(changes)

    def _mark(self, i: int) -> None:
        m = self.marks
        m.index.append(i)
        m.realized_minus_cost.append(float(self.realized - self.cost))
        m.qty.append(float(self.qty))
        m.open_buys.append(sum(1 for o in self.live.values() if o.role is Role.OPEN))
        locked = self.account.locked.get(self.setup.market.quote, ZERO)
        # Spot commits the inventory's cost and the quote its orders lock; a perpetual commits margin
        # (its account locks the position's and the orders' margin: backtest/perp_account.py).
        m.committed.append(float(locked if self.setup.market.leverage is not None else self.cost + locked))

    # ------------------------------------------------------------------ results
    @property
    def last_price(self) -> Decimal | None:
        return None if self.last_ticks is None else Decimal(self.last_ticks) * self._step

    def unrealized(self) -> Decimal:
        last = self.last_price
        if last is None:
            return ZERO
        grid = self.setup.grid
        # Short slots gain as the price falls (their basis is what the opening sells brought in).
        return sum(
            (
                (s.state.cost - s.state.qty * last)
                if grid.level_direction(s.level) is Direction.SHORT
                else (s.state.qty * last - s.state.cost)
                for s in self.ledger.slots.values()
            ),
            ZERO,
        )

    def pnl_curve(self) -> np.ndarray:
        """Total PnL (realized + unrealized, quote, float64 for the report only) at each close."""
        data = self.data
        n = len(data)
        step = float(self._step)
        closes = data.close.astype(np.float64) * step
        if not self.marks.index:
            return np.zeros(n)
        idx = np.asarray(self.marks.index, dtype=np.int64)
        which = np.searchsorted(idx, np.arange(n, dtype=np.int64), side="right") - 1
        rc = np.concatenate(([0.0], np.asarray(self.marks.realized_minus_cost)))[which + 1]
        qty = np.concatenate(([0.0], np.asarray(self.marks.qty)))[which + 1]
        return rc + qty * closes


__all__ = ["SOURCE", "Backtest", "Counters", "Fill", "Marks"]
