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
a vectorised search (``backtest/search.py``) and only event candles run Python code.
``skip=False`` decides at every price instead: the tests prove both give the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from gridledger.backtest.account import Account, Refused, RestingOrder
from gridledger.backtest.search import next_event
from gridledger.backtest.setup import BacktestSetup
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.changes import ChangeSet
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence, make_fees
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.records import OrderRecord
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
    window_levels,
)

_NEVER_LOW = -1
_NEVER_HIGH = 1 << 62
SOURCE = "backtest"


class _DiscardArchive:
    """Finished orders leave the ledger for good: a backtest never replays old evidence (R9's
    archive is what lets a live journal recognise a week-old duplicate; a backtest has none)."""

    def load_order(self, client_id: str) -> OrderRecord | None:
        return None

    def client_id_for(self, order_id: str) -> str | None:
        return None

    def load_folded(self, level: int, from_generation: int) -> list[OrderRecord]:
        return []

    def has_key(self, key: str) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Fill:
    """One applied trade, for the fills CSV and the report."""

    ts_ms: int
    level: int
    side: Side
    role: Role
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    fee_quote: Decimal  # the fee valued in quote (base fees at the fill price, a third asset at its price)
    realized: Decimal  # realized PnL this fill booked in its slot
    client_id: str
    maker: bool


@dataclass(slots=True)
class Marks:
    """The account's state after each candle in which something changed (parallel lists)."""

    index: list[int] = field(default_factory=list)  # candle (or trade) index
    realized_minus_cost: list[float] = field(default_factory=list)
    qty: list[float] = field(default_factory=list)
    open_buys: list[int] = field(default_factory=list)
    committed: list[float] = field(default_factory=list)
    # The trailing centre (level), recorded at each candle where it moved: the plot's centre line.
    centre_index: list[int] = field(default_factory=list)
    centre: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Counters:
    events: int = 0  # path prices at which the backtest filled and/or decided
    decisions: int = 0
    placed: int = 0
    canceled: int = 0
    refused_post_only: int = 0
    refused_balance: int = 0
    taker_fills: int = 0


class Backtest:
    """One run over one data set. ``run()`` once; the results stay on the object."""

    def __init__(self, setup: BacktestSetup, data: MarketData, *, skip: bool = True) -> None:
        self.setup = setup
        self.data = data
        self.skip = skip
        self.params = setup.params
        self.rules = setup.market.rules
        if data.price_step != self.rules.price_step:
            raise ValueError(
                f"the data was read with price step {data.price_step}, the market's is {self.rules.price_step}"
            )
        self.ledger = Ledger(setup.grid, archive=_DiscardArchive())
        self.account = Account(setup.market, setup.balances)
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
        self._max_buy = _NEVER_LOW  # highest resting buy, lowest resting sell (ticks), as of the last _band()
        self._min_sell = _NEVER_HIGH
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
        lo, hi = _NEVER_HIGH, _NEVER_HIGH  # the first price always triggers: the first decision
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
                lo, hi = self._band(p)
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

    # ------------------------------------------------------------------ venue side
    def _fill_at(self, p: int, t: int) -> None:
        if self._max_buy < p < self._min_sell:
            return
        buys = sorted(
            (o for o in self.live.values() if o.side is Side.BUY and o.ticks >= p), key=lambda o: (-o.ticks, o.seq)
        )
        sells = sorted(
            (o for o in self.live.values() if o.side is Side.SELL and o.ticks <= p), key=lambda o: (o.ticks, o.seq)
        )
        for order in (*buys, *sells):
            self._trade(order, order.price, t, maker=True)

    def _trade(self, order: RestingOrder, price: Decimal, t: int, maker: bool) -> None:
        notional, fee, fee_asset = self.account.fill(order, price, maker)
        del self.live[order.client_id]
        trade_id = self._next_trade_id
        self._next_trade_id += 1
        out = self.ledger.apply(
            TradeEvidence(
                symbol=self.symbol,
                order_id=order.order_id,
                client_id=order.client_id,
                trade_id=str(trade_id),
                side=order.side,
                amount=order.amount,
                price=price,
                cost=notional,
                fees=make_fees([(fee_asset, fee)]),
                timestamp=t,
                source=SOURCE,
            )
        )
        m = self.setup.market
        if fee_asset == m.quote:
            fee_quote = fee
        elif fee_asset == m.base:
            fee_quote = fee * price
        else:
            fee_quote = fee * m.third_asset_price
        self.fills.append(
            Fill(
                t,
                order.level,
                order.side,
                order.role,
                price,
                order.amount,
                fee,
                fee_asset,
                fee_quote,
                out.realized_delta or ZERO,
                order.client_id,
                maker,
            )
        )
        if not maker:
            self.counters.taker_fills += 1
        self._terminal = True
        self._refresh(order.level)

    # ------------------------------------------------------------------ engine side
    def _decide_at(self, p: int, t: int) -> None:
        price = Decimal(p) * self._step
        views = self.decide_views if self.skip else self.views
        decision = decide(self.state, self.params, self.rules, price, views, paused=self.setup.paused)
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

    def _cancel(self, action: Cancel, t: int) -> None:
        order = self.live.pop(action.client_id, None)
        if order is None:
            return
        self.account.release(order)
        self.counters.canceled += 1
        self._terminal = True
        self.ledger.apply(
            OrderEvidence(
                symbol=self.symbol,
                order_id=order.order_id,
                client_id=order.client_id,
                status=OrderStatus.CANCELED,
                side=order.side,
                amount=order.amount,
                price=order.price,
                filled=ZERO,
                cost=ZERO,
                fees=(),
                timestamp=t,
                event_id=f"cancel:{order.order_id}",
                source=SOURCE,
            )
        )
        self._refresh(order.level)

    def _place(self, action: Place, p: int, price: Decimal, t: int) -> None:
        rec = self.ledger.new_order(action.level, action.side, action.role, action.amount, action.price)
        ticks = int(action.price / self._step)
        crosses = ticks >= p if action.side is Side.BUY else ticks <= p
        try:
            if action.post_only and crosses:
                raise Refused("post-only order would take", post_only=True)
            lock_asset, lock_amount = self.account.lock_for(action.side, action.amount, action.price)
            self.account.lock(lock_asset, lock_amount)
        except Refused as exc:
            self._reject(rec, action, t, exc)
            return
        order_id = str(self._next_order_id)
        self._next_order_id += 1
        self._seq += 1
        order = RestingOrder(
            rec.client_id,
            order_id,
            action.level,
            action.side,
            action.role,
            action.price,
            ticks,
            action.amount,
            action.post_only,
            self._seq,
            lock_asset,
            lock_amount,
            action.price,
        )
        self.live[rec.client_id] = order
        self.counters.placed += 1
        self.ledger.apply(
            OrderEvidence(
                symbol=self.symbol,
                order_id=order_id,
                client_id=rec.client_id,
                status=OrderStatus.NEW,
                side=action.side,
                amount=action.amount,
                price=action.price,
                filled=ZERO,
                cost=ZERO,
                fees=None,
                timestamp=t,
                event_id=f"new:{order_id}",
                source=SOURCE,
            )
        )
        self.state = self.state.on_accepted(action.level)
        self._backoff.pop(action.level, None)
        if crosses:
            self._trade(order, price, t, maker=False)  # a crossing limit order takes at the last price
        else:
            self._refresh(action.level)

    def _reject(self, rec: OrderRecord, action: Place, t: int, exc: Refused) -> None:
        # As the engine does: the refusal is evidence the order never existed (R6).
        self.ledger.apply(
            OrderEvidence(
                symbol=self.symbol,
                order_id=None,
                client_id=rec.client_id,
                status=OrderStatus.REJECTED,
                side=rec.side,
                amount=rec.amount,
                price=rec.price,
                filled=ZERO,
                cost=ZERO,
                fees=(),
                timestamp=t,
                event_id=f"rejected:{rec.client_id}",
                source=SOURCE,
            )
        )
        self._terminal = True
        if exc.post_only:
            self.counters.refused_post_only += 1
            self.state = self.state.on_post_only_reject(action.level)
        else:
            self.counters.refused_balance += 1
            _, previous = self._backoff.get(action.level, (0, 0))
            delay = min(600_000, max(5_000, previous * 2))
            self._backoff[action.level] = (t + self._latency_ms + delay, delay)
        self._refresh(action.level)

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
        self.qty += state.qty - old[0]
        self.cost += state.cost - old[1]
        self.realized += state.realized - old[2]

    def _flush(self) -> None:
        # Finished orders are folded into their slot's checkpoint and leave RAM (R9), so a
        # year of fills costs no more memory than a day's.
        if not self._terminal:
            return
        self._terminal = False
        changes: ChangeSet = self.ledger.take_changes()
        self.ledger.committed(changes)

    def _band(self, p: int) -> tuple[int, int]:
        """The prices (ticks) at or beyond which the next event happens: ``p <= lo`` or ``p >= hi``."""
        max_buy, min_sell = _NEVER_LOW, _NEVER_HIGH
        for order in self.live.values():
            if order.side is Side.BUY:
                if order.ticks > max_buy:
                    max_buy = order.ticks
            elif order.ticks < min_sell:
                min_sell = order.ticks
        self._max_buy, self._min_sell = max_buy, min_sell
        centre = self.state.centre
        if centre is None:
            return _NEVER_HIGH, _NEVER_HIGH
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

    def _mark(self, i: int) -> None:
        m = self.marks
        m.index.append(i)
        m.realized_minus_cost.append(float(self.realized - self.cost))
        m.qty.append(float(self.qty))
        m.open_buys.append(sum(1 for o in self.live.values() if o.role is Role.OPEN))
        m.committed.append(float(self.cost + self.account.locked.get(self.setup.market.quote, ZERO)))

    # ------------------------------------------------------------------ results
    @property
    def last_price(self) -> Decimal | None:
        return None if self.last_ticks is None else Decimal(self.last_ticks) * self._step

    def unrealized(self) -> Decimal:
        last = self.last_price
        if last is None:
            return ZERO
        return sum((s.state.qty * last - s.state.cost for s in self.ledger.slots.values()), ZERO)

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
