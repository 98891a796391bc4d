"""The simulated venue: the backtest's order book and its fill rule, each answer sent to the
``Ledger`` as the evidence a live venue would give.

**The fill rule.** A resting buy fills when a path price is at or below its limit, a sell
when one is at or above; the fill is whole, at the limit price, as maker. A post-only order
that would cross the last price when placed is refused (as the venue refuses it); any other
crossing order fills at once at the last price, as taker. No volume share: the data's
volume is not a limit. A level refused for lack of balance waits, as the engine makes it
wait (engine/runtime.py ``_place``): 5 s, doubling to 10 min.

``SimulatedVenue`` is a mixin of ``Backtest`` (``backtest/run.py``), which owns the state.
"""

from __future__ import annotations

from decimal import Decimal

from gridledger.backtest.account import Account, Refused, RestingOrder
from gridledger.backtest.results import Counters, Fill
from gridledger.backtest.setup import BacktestSetup
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import Fees, OrderEvidence, TradeEvidence, make_fees
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.records import OrderRecord
from gridledger.strategy import Cancel, Place, StrategyState

SOURCE = "backtest"


class SimulatedVenue:
    """Resting orders, fills, cancels and refusals; the state lives on ``Backtest``."""

    setup: BacktestSetup
    ledger: Ledger
    account: Account
    state: StrategyState
    live: dict[str, RestingOrder]
    fills: list[Fill]
    counters: Counters
    symbol: str
    _step: Decimal
    _backoff: dict[int, tuple[int, int]]
    _latency_ms: int
    _next_order_id: int
    _next_trade_id: int
    _seq: int
    _terminal: bool
    _max_buy: int
    _min_sell: int

    def _refresh(self, level: int) -> None:  # pragma: no cover - Backtest defines it
        raise NotImplementedError

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

    def _cancel(self, action: Cancel, t: int) -> None:
        order = self.live.pop(action.client_id, None)
        if order is None:
            return
        self.account.release(order)
        self.counters.canceled += 1
        self._terminal = True
        self._report(
            OrderStatus.CANCELED,
            order.order_id,
            order.client_id,
            order.side,
            order.amount,
            order.price,
            (),
            t,
            f"cancel:{order.order_id}",
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
        self._report(
            OrderStatus.NEW,
            order_id,
            rec.client_id,
            action.side,
            action.amount,
            action.price,
            None,
            t,
            f"new:{order_id}",
        )
        self.state = self.state.on_accepted(action.level)
        self._backoff.pop(action.level, None)
        if crosses:
            self._trade(order, price, t, maker=False)  # a crossing limit order takes at the last price
        else:
            self._refresh(action.level)

    def _report(
        self,
        status: OrderStatus,
        order_id: str | None,
        client_id: str,
        side: Side,
        amount: Decimal | None,
        price: Decimal | None,
        fees: Fees | None,
        t: int,
        event_id: str,
    ) -> None:
        """An order report with nothing filled (accepted, canceled, refused), as the venue would send it."""
        self.ledger.apply(
            OrderEvidence(
                symbol=self.symbol,
                order_id=order_id,
                client_id=client_id,
                status=status,
                side=side,
                amount=amount,
                price=price,
                filled=ZERO,
                cost=ZERO,
                fees=fees,
                timestamp=t,
                event_id=event_id,
                source=SOURCE,
            )
        )

    def _reject(self, rec: OrderRecord, action: Place, t: int, exc: Refused) -> None:
        # As the engine does: the refusal is evidence the order never existed (R6).
        self._report(
            OrderStatus.REJECTED,
            None,
            rec.client_id,
            rec.side,
            rec.amount,
            rec.price,
            (),
            t,
            f"rejected:{rec.client_id}",
        )
        self._terminal = True
        if exc.post_only:
            self.counters.refused_post_only += 1
            self.state = self.state.on_post_only_reject(action.level)
        else:
            self.counters.refused_balance += 1
            _, previous = self._backoff.get(action.level, (0, 0))
            delay = min(self.setup.level_backoff_max_ms, max(self.setup.level_backoff_ms, previous * 2))
            self._backoff[action.level] = (t + self._latency_ms + delay, delay)
        self._refresh(action.level)
