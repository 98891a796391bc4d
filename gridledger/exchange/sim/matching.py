"""The simulated venue's core: balances, orders, fills and the events they produce.

Synchronous and deterministic: time comes in as arguments (``now_ms``, ``tick.ts_ms``),
randomness (only for generated client ids) from a private ``random.Random(seed)``. Every
amount is a ``Decimal`` and every balance change is exact; the core is the ground truth a
test compares the engine's ledger against.

Model (documented choices, because a tick stream is not an order book):

- The market is a stream of public prints (:class:`~gridledger.exchange.sim.prices.Tick`).
  A resting buy at ``p`` fills when a tick prints at or below ``p``, a sell when one prints at
  or above; fills happen at the order's limit price, as maker.
- Our orders may take ``participation × tick.volume`` (rounded down to the amount step) per
  side per tick, shared among that side's orders in price-time priority, so large orders
  fill in parts. Each print has a buyer and a seller, hence a separate budget per side.
- "Crossing" uses the same rule against the last print: a buy at or above it, a sell at or
  below it would trade at once. A post-only order that would cross is rejected; any other
  crossing limit order takes at the last price (budget permitting) and rests with the rest.
  A market order takes what the budget allows and the remainder expires (Binance behaviour:
  the order ends EXPIRED with a partial fill).
- Fees and locks: see :mod:`.fees`.
- Client ids: Binance only requires uniqueness among *open* orders (``duplicate_scope``
  ``"open"``, the default), so an id can be reused once its order is closed; ``"all"``
  rejects any reuse.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from gridledger.domain.numbers import ZERO, quantize_down
from gridledger.domain.types import OrderStatus, Side
from gridledger.exchange.sim import binance_format as fmt
from gridledger.exchange.sim.balance_book import BalanceBook
from gridledger.exchange.sim.errors import (
    BadRequest,
    DuplicateOrder,
    InsufficientBalance,
    UnknownOrder,
    WouldTake,
)
from gridledger.exchange.sim.fees import fee_for, lock_for
from gridledger.exchange.sim.order_rules import check_client_id, check_filters, order_kind
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.print_window import PrintWindow
from gridledger.exchange.sim.values import (
    Balance,
    DuplicateScope,
    SimEvent,
    SimMarketSpec,
    SimOrder,
    SimTrade,
    TickerStats,
)

_ID_ALPHABET = string.ascii_letters + string.digits


def _limit_price(order: SimOrder) -> Decimal:
    """The price of an order resting on the book (only limit orders rest, and they have one)."""
    assert order.price is not None
    return order.price


# --- the core ------------------------------------------------------------------------------


class SimCore:
    """One spot market of a Binance-like venue, driven by ticks and requests."""

    def __init__(
        self,
        spec: SimMarketSpec,
        balances: Mapping[str, Decimal],
        start_ms: int,
        *,
        seed: int = 0,
        first_order_id: int = 1,
        first_trade_id: int = 1,
        duplicate_scope: DuplicateScope = "open",
    ) -> None:
        if duplicate_scope not in ("open", "all"):
            raise ValueError(f"duplicate_scope must be open or all, got {duplicate_scope!r}")
        self.spec = spec
        self.now_ms = int(start_ms)
        self.duplicate_scope: DuplicateScope = duplicate_scope
        self._book = BalanceBook()
        for asset in spec.assets:
            self._book.free[asset] = ZERO
            self._book.locked[asset] = ZERO
        for asset, amount in balances.items():
            amount = Decimal(amount)
            if amount < 0 or not amount.is_finite():
                raise ValueError(f"initial balance of {asset} must be >= 0, got {amount}")
            self._book.free[asset] = amount
            self._book.locked.setdefault(asset, ZERO)
        self.orders: dict[int, SimOrder] = {}
        self._by_client: dict[str, int] = {}
        self._open: dict[int, None] = {}  # open order ids in placement order
        self.trades: list[SimTrade] = []
        self._trades_by_order: dict[int, list[SimTrade]] = {}
        self.events: list[SimEvent] = []
        self.last_tick: Tick | None = None
        self._budget: dict[Side, Decimal] = {Side.BUY: ZERO, Side.SELL: ZERO}
        self._next_order_id = first_order_id
        self._next_trade_id = first_trade_id
        self._next_exec_id = 1
        self._seq = 0
        self._rng = random.Random(seed)
        self._window = PrintWindow()
        # The window's prints under the name the local-Binance stream tests count them by.
        self._prints = self._window.prints

    # --- queries ---------------------------------------------------------------------------

    @property
    def last_price(self) -> Decimal | None:
        return self.last_tick.price if self.last_tick else None

    @property
    def orders_by_client_id(self) -> dict[str, SimOrder]:
        """The most recent order for each client id."""
        return {cid: self.orders[oid] for cid, oid in self._by_client.items()}

    def balances(self) -> dict[str, Balance]:
        return {a: Balance(self._book.free[a], self._book.locked[a]) for a in self._book.free}

    def balance(self, asset: str) -> Balance:
        return Balance(self._book.free.get(asset, ZERO), self._book.locked.get(asset, ZERO))

    def position(self) -> Decimal:
        """Base asset held (free + locked)."""
        return self.balance(self.spec.base).total

    def open_orders(self) -> list[SimOrder]:
        return [self.orders[oid] for oid in self._open]

    def trades_of(self, order_id: int) -> list[SimTrade]:
        return list(self._trades_by_order.get(order_id, ()))

    def get_order(self, ref: int | str) -> SimOrder:
        """By exchange id (int) or client id (str); raises -2013 when unknown."""
        order = self._find(ref)
        if order is None:
            raise UnknownOrder.on_query()
        return order

    def ticker_stats(self) -> TickerStats:
        if self.last_tick is None:
            raise BadRequest(-1112, "No orders on book for symbol.")
        return self._window.stats(self.spec, self.last_tick, self.now_ms)

    # --- requests --------------------------------------------------------------------------

    def place(
        self,
        client_order_id: str | None,
        side: Side | str,
        type: str,
        amount: Decimal,
        price: Decimal | None = None,
        post_only: bool = False,
        now_ms: int | None = None,
    ) -> SimOrder:
        """Accept or reject a new order; a crossing order trades at once (see module doc)."""
        now = self._advance(now_ms)
        side = Side.parse(side)
        kind, price = order_kind(type, post_only, price)
        if client_order_id is None:
            client_order_id = self._generate_client_id()
        check_client_id(client_order_id)
        spec = self.spec
        amount, price, reference = check_filters(spec, amount, price, self.last_price)
        existing = self._by_client.get(client_order_id)
        if existing is not None and (self.duplicate_scope == "all" or self.orders[existing].is_open):
            raise DuplicateOrder()
        lock_asset, lock_amount = lock_for(spec, side, amount, reference)
        if self._book.free.get(lock_asset, ZERO) < lock_amount:
            raise InsufficientBalance()
        crosses = self._crosses(side, reference) if kind == "limit" else True
        if post_only and crosses:
            raise WouldTake()

        self._seq += 1
        order = SimOrder(
            order_id=self._next_order_id,
            client_order_id=client_order_id,
            symbol=spec.venue_id,
            side=side,
            type=kind,
            post_only=post_only,
            amount=amount,
            price=price,
            status=OrderStatus.NEW,
            created_ms=now,
            updated_ms=now,
            seq=self._seq,
            locked=lock_amount,
            lock_price=reference,
        )
        self._next_order_id += 1
        self._book.lock(lock_asset, lock_amount)
        self._store(order)
        self._by_client[client_order_id] = order.order_id
        self._report(order, "NEW", now, on_book=True)

        if crosses and self.last_price is not None:
            take = min(order.remaining, self._budget[side])
            if take > 0:
                order = self._fill(order, take, self.last_price, maker=False, now=now)
        if kind == "market" and order.is_open:
            order = self._release(replace(order, status=OrderStatus.EXPIRED, updated_ms=now))
            self._report(order, "EXPIRED", now, on_book=False)
        self._account_update(now)
        return order

    def cancel(self, ref: int | str, now_ms: int | None = None, cancel_client_id: str | None = None) -> SimOrder:
        """Cancel an open order by exchange id (int) or client id (str); the fill so far stays.

        The executionReport carries the cancel request's id in ``c`` and the order's own
        client id in ``C``, as Binance does.
        """
        now = self._advance(now_ms)
        order = self._find(ref)
        if order is None or not order.is_open:
            raise UnknownOrder.on_cancel()
        if cancel_client_id is None:
            cancel_client_id = self._generate_client_id()
        order = replace(order, status=OrderStatus.CANCELED, updated_ms=now, cancel_client_id=cancel_client_id)
        order = self._release(order)
        self._report(order, "CANCELED", now, on_book=False)
        self._account_update(now)
        return order

    def deposit(self, asset: str, amount: Decimal) -> None:
        """A transfer the grid did not make (a deposit or, negative, a withdrawal); it
        shows up as drift between the ledger and the balances."""
        self._book.add_free(asset, amount)

    def on_tick(self, tick: Tick) -> list[SimTrade]:
        """A public print: resting orders it reaches fill as maker, within the volume budget."""
        if tick.ts_ms < self.now_ms:
            raise ValueError(f"tick at {tick.ts_ms} is before the core's clock {self.now_ms}")
        self.now_ms = tick.ts_ms
        self._record_print(tick)
        budget = quantize_down(self.spec.participation * tick.volume, self.spec.amount_step)
        self._budget = {Side.BUY: budget, Side.SELL: budget}
        before = len(self.trades)
        buys = sorted(
            (o for o in self.open_orders() if o.side is Side.BUY and o.price is not None and o.price >= tick.price),
            key=lambda o: (-_limit_price(o), o.seq),
        )
        sells = sorted(
            (o for o in self.open_orders() if o.side is Side.SELL and o.price is not None and o.price <= tick.price),
            key=lambda o: (_limit_price(o), o.seq),
        )
        for side, queue in ((Side.BUY, buys), (Side.SELL, sells)):
            for order in queue:
                take = min(order.remaining, self._budget[side])
                if take <= 0:
                    break
                assert order.price is not None
                self._fill(order, take, order.price, maker=True, now=tick.ts_ms)
                self._account_update(tick.ts_ms)
        return self.trades[before:]

    # --- internals -------------------------------------------------------------------------

    def _advance(self, now_ms: int | None) -> int:
        if now_ms is not None:
            self.now_ms = max(self.now_ms, int(now_ms))
        return self.now_ms

    def _find(self, ref: int | str) -> SimOrder | None:
        if isinstance(ref, str):
            oid = self._by_client.get(ref)
            return self.orders.get(oid) if oid is not None else None
        return self.orders.get(int(ref))

    def _store(self, order: SimOrder) -> None:
        self.orders[order.order_id] = order
        if order.is_open:
            self._open[order.order_id] = None
        else:
            self._open.pop(order.order_id, None)

    def _generate_client_id(self) -> str:
        return "".join(self._rng.choice(_ID_ALPHABET) for _ in range(22))

    def _crosses(self, side: Side, price: Decimal) -> bool:
        last = self.last_price
        if last is None:
            return False
        return price >= last if side is Side.BUY else price <= last

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal, *, maker: bool, now: int) -> SimOrder:
        spec = self.spec
        book = self._book
        notional = qty * price
        rate = spec.maker_fee if maker else spec.taker_fee
        fee, fee_asset = fee_for(spec, order.side, qty, notional, rate, book.free.get(spec.third_asset, ZERO))
        locked = order.locked
        if order.side is Side.BUY:
            # The lock was taken at the limit (or reference) price; a taker fill at a better
            # price hands the difference back at once.
            release = qty * order.lock_price
            book.spend_locked(spec.quote, release)
            locked -= release
            book.add_free(spec.quote, release - notional)
            book.add_free(spec.base, qty)
            if fee_asset == spec.quote:
                book.spend_locked(spec.quote, fee)  # paid from the order's fee reserve
                locked -= fee
            else:
                book.add_free(fee_asset, -fee)
        else:
            book.spend_locked(spec.base, qty)
            locked -= qty
            book.add_free(spec.quote, notional)
            book.add_free(fee_asset, -fee)
        filled = order.filled + qty
        status = OrderStatus.FILLED if filled == order.amount else OrderStatus.PARTIALLY_FILLED
        order = replace(
            order,
            filled=filled,
            cost=order.cost + notional,
            locked=locked,
            status=status,
            updated_ms=now,
            last_trade_ms=now,
        )
        if status is OrderStatus.FILLED:
            order = self._release(order)
        else:
            self._store(order)
        trade = self._record_trade(order, price, qty, fee, fee_asset, now, maker)
        self._report(order, "TRADE", now, on_book=order.is_open and order.type == "limit", trade=trade)
        return order

    def _record_trade(
        self, order: SimOrder, price: Decimal, qty: Decimal, fee: Decimal, fee_asset: str, now: int, maker: bool
    ) -> SimTrade:
        """Book one fill (spot and perpetual cores alike), counted against the tick's budget."""
        trade = SimTrade(
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            amount=qty,
            quote_qty=qty * price,
            fee=fee,
            fee_asset=fee_asset,
            ts_ms=now,
            is_maker=maker,
        )
        self._next_trade_id += 1
        self._budget[order.side] -= qty
        self.trades.append(trade)
        self._trades_by_order.setdefault(order.order_id, []).append(trade)
        return trade

    def _release(self, order: SimOrder) -> SimOrder:
        """Hand back whatever the order still locks (it is closing)."""
        if order.locked:
            asset = self.spec.quote if order.side is Side.BUY else self.spec.base
            self._book.unlock(asset, order.locked)
            order = replace(order, locked=ZERO)
        self._store(order)
        return order

    def _record_print(self, tick: Tick) -> None:
        self.last_tick = tick
        self._window.record(tick)

    def _emit(self, payload: dict[str, Any], ts_ms: int) -> None:
        self.events.append(SimEvent(seq=len(self.events) + 1, ts_ms=ts_ms, payload=payload))

    def _report(
        self, order: SimOrder, exec_type: str, now: int, *, on_book: bool, trade: SimTrade | None = None
    ) -> None:
        exec_id = self._next_exec_id
        self._next_exec_id += 1
        payload = fmt.execution_report(
            order, exec_type=exec_type, event_ms=now, exec_id=exec_id, on_book=on_book, trade=trade
        )
        self._emit(payload, now)

    def _account_update(self, now: int) -> None:
        if not self._book.changed:
            return
        changed = {a: self.balance(a) for a in self._book.changed}
        self._book.changed.clear()
        self._emit(fmt.account_position(now, changed), now)
