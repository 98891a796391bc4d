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
- Fees: ``quote`` charges the quote asset on both sides; ``base_on_buy`` (Binance spot
  default) charges buys in the base received and sells in the quote received; ``third``
  charges a third asset (BNB) at ``third_asset_price`` quote per unit, falling back to
  ``base_on_buy`` when the third asset's free balance cannot cover a fee (as Binance does).
  Commissions are truncated to 8 decimals (Binance's commission precision), so the reported
  commission is exactly what left the balance.
- Locks: a sell locks its amount of base; a buy locks ``amount × price`` of quote (market
  buys: at the last price). In ``quote`` fee mode a buy also locks a fee reserve of
  ``amount × price × max(maker, taker)`` rounded up to 8 decimals, because the fee cannot
  be taken from what the buy receives; the reserve always covers the (truncated) fees and
  its unused part is released when the order completes.
- Client ids: Binance only requires uniqueness among *open* orders (``duplicate_scope``
  ``"open"``, the default), so an id can be reused once its order is closed; ``"all"``
  rejects any reuse.
"""

from __future__ import annotations

import random
import re
import string
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any, Literal

from gridledger.domain.numbers import ZERO, quantize_down
from gridledger.domain.types import OrderStatus, Side
from gridledger.exchange.sim import binance_format as fmt
from gridledger.exchange.sim.prices import Tick

OrderType = Literal["limit", "market"]
_ORDER_TYPES: dict[str, OrderType] = {"limit": "limit", "market": "market"}
FeeMode = Literal["quote", "base_on_buy", "third"]
DuplicateScope = Literal["open", "all"]

_COMMISSION_QUANTUM = Decimal("0.00000001")
_CLIENT_ID = re.compile(r"[a-zA-Z0-9\-_]{1,36}")
_ID_ALPHABET = string.ascii_letters + string.digits
_DAY_MS = 86_400_000


# --- errors -------------------------------------------------------------------------------


class SimOrderError(Exception):
    """A request the venue refuses; ``code`` and ``msg`` are Binance's."""

    code: int
    msg: str

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg

    def body(self) -> dict[str, Any]:
        """The JSON error body Binance sends with the HTTP 400."""
        return fmt.error_body(self.code, self.msg)


class BadRequest(SimOrderError):
    """Malformed request (bad type, missing price, illegal client id)."""


class FilterFailure(SimOrderError):
    """A symbol filter refused the order: PRICE_FILTER, LOT_SIZE, NOTIONAL (-1013)."""

    def __init__(self, filter_name: str) -> None:
        super().__init__(-1013, f"Filter failure: {filter_name}")
        self.filter_name = filter_name


class InsufficientBalance(SimOrderError):
    def __init__(self) -> None:
        super().__init__(-2010, "Account has insufficient balance for requested action.")


class WouldTake(SimOrderError):
    """A post-only (LIMIT_MAKER) order would have traded at once."""

    def __init__(self) -> None:
        super().__init__(-2010, "Order would immediately match and take.")


class DuplicateOrder(SimOrderError):
    def __init__(self) -> None:
        super().__init__(-2010, "Duplicate order sent.")


class UnknownOrder(SimOrderError):
    """-2011 for a cancel of an unknown or closed order, -2013 for a query."""

    @classmethod
    def on_cancel(cls) -> UnknownOrder:
        return cls(-2011, "Unknown order sent.")

    @classmethod
    def on_query(cls) -> UnknownOrder:
        return cls(-2013, "Order does not exist.")


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimMarketSpec:
    """One spot market. ``symbol`` is ccxt's unified name, ``venue_id`` Binance's."""

    symbol: str = "BTC/USDT"
    venue_id: str = "BTCUSDT"
    base: str = "BTC"
    quote: str = "USDT"
    amount_step: Decimal = Decimal("0.00001")
    price_step: Decimal = Decimal("0.01")
    min_amount: Decimal = Decimal("0.00001")
    min_notional: Decimal = Decimal("5")
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    fee_mode: FeeMode = "base_on_buy"
    third_asset: str = "BNB"
    third_asset_price: Decimal = Decimal("600")
    participation: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        if self.symbol != f"{self.base}/{self.quote}":
            raise ValueError(f"symbol {self.symbol!r} must be {self.base}/{self.quote}")
        for name in ("amount_step", "price_step", "third_asset_price"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("min_amount", "min_notional", "maker_fee", "taker_fee"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.fee_mode not in ("quote", "base_on_buy", "third"):
            raise ValueError(f"fee_mode must be quote, base_on_buy or third, got {self.fee_mode!r}")
        if not 0 < self.participation <= 1:
            raise ValueError(f"participation must be in (0, 1], got {self.participation}")
        if self.fee_mode == "third" and self.third_asset in (self.base, self.quote):
            raise ValueError("third_asset must differ from base and quote")

    @property
    def assets(self) -> tuple[str, ...]:
        if self.fee_mode == "third":
            return (self.base, self.quote, self.third_asset)
        return (self.base, self.quote)


@dataclass(frozen=True, slots=True)
class Balance:
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class SimOrder:
    """Snapshot of an order; the core replaces it on every change, so a held copy is stable."""

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    post_only: bool
    amount: Decimal
    price: Decimal | None
    status: OrderStatus
    created_ms: int
    updated_ms: int
    seq: int
    filled: Decimal = ZERO
    cost: Decimal = ZERO
    locked: Decimal = ZERO
    lock_price: Decimal = ZERO
    last_trade_ms: int | None = None
    cancel_client_id: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return not self.status.terminal

    @property
    def venue_type(self) -> str:
        if self.type == "market":
            return "MARKET"
        return "LIMIT_MAKER" if self.post_only else "LIMIT"

    @property
    def time_in_force(self) -> str:
        return "GTC"


def _limit_price(order: SimOrder) -> Decimal:
    """The price of an order resting on the book (only limit orders rest, and they have one)."""
    assert order.price is not None
    return order.price


@dataclass(frozen=True, slots=True)
class SimTrade:
    trade_id: int
    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    quote_qty: Decimal
    fee: Decimal
    fee_asset: str
    ts_ms: int
    is_maker: bool


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One raw stream message; ``seq`` is its position in the truthful delivery order."""

    seq: int
    ts_ms: int
    payload: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.payload.get("e"))


@dataclass(frozen=True, slots=True)
class TickerStats:
    """Rolling 24 h statistics over the public prints, for the ticker formats."""

    symbol: str
    last: Decimal
    last_qty: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    prev_close: Decimal
    volume: Decimal
    quote_volume: Decimal
    open_time: int
    close_time: int
    first_id: int
    last_id: int
    count: int
    bid: Decimal
    ask: Decimal
    bid_qty: Decimal
    ask_qty: Decimal
    event_ms: int


@dataclass(slots=True)
class _Book:
    """Mutable balances; kept private so only the core's exact arithmetic touches them."""

    free: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)

    def _mark(self, asset: str) -> None:
        if asset not in self.changed:
            self.changed.append(asset)
        self.free.setdefault(asset, ZERO)
        self.locked.setdefault(asset, ZERO)

    def add_free(self, asset: str, amount: Decimal) -> None:
        self._mark(asset)
        self.free[asset] += amount
        if self.free[asset] < 0:
            raise AssertionError(f"free {asset} went negative: {self.free[asset]}")

    def lock(self, asset: str, amount: Decimal) -> None:
        self.add_free(asset, -amount)
        self.locked[asset] += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        self.spend_locked(asset, amount)
        self.free[asset] += amount

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        self._mark(asset)
        self.locked[asset] -= amount
        if self.locked[asset] < 0:
            raise AssertionError(f"locked {asset} went negative: {self.locked[asset]}")


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
        self._book = _Book()
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
        # Rolling 24 h window of public prints, with running sums and monotonic queues so a
        # ticker per tick stays O(1) amortised over a day of one-second ticks.
        self._prints: deque[tuple[int, Tick]] = deque()
        self._highs: deque[tuple[int, Decimal]] = deque()
        self._lows: deque[tuple[int, Decimal]] = deque()
        self._window_volume = ZERO
        self._window_quote = ZERO
        self._prev_close: Decimal | None = None
        self._print_id = 0

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
        first_id, first = self._prints[0]
        last = self.last_tick
        step = self.spec.price_step
        return TickerStats(
            symbol=self.spec.venue_id,
            last=last.price,
            last_qty=last.volume,
            open=first.price,
            high=self._highs[0][1],
            low=self._lows[0][1],
            prev_close=self._prev_close if self._prev_close is not None else first.price,
            volume=self._window_volume,
            quote_volume=self._window_quote,
            open_time=max(last.ts_ms - _DAY_MS, first.ts_ms),
            close_time=last.ts_ms,
            first_id=first_id,
            last_id=self._prints[-1][0],
            count=len(self._prints),
            bid=max(last.price - step, step),
            ask=last.price + step,
            bid_qty=last.volume,
            ask_qty=last.volume,
            event_ms=self.now_ms,
        )

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
        kind = _ORDER_TYPES.get(str(type).lower())
        if kind is None:
            raise BadRequest(-1116, "Invalid orderType.")
        if kind == "market":
            if post_only:
                raise BadRequest(-1116, "Invalid orderType.")
            price = None
        elif price is None:
            raise BadRequest(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
        if client_order_id is None:
            client_order_id = self._generate_client_id()
        if not _CLIENT_ID.fullmatch(client_order_id):
            raise BadRequest(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
            )
        amount = Decimal(amount)
        spec = self.spec
        if price is not None:
            price = Decimal(price)
            if price <= 0 or price % spec.price_step != 0:
                raise FilterFailure("PRICE_FILTER")
        if amount <= 0 or amount < spec.min_amount or amount % spec.amount_step != 0:
            raise FilterFailure("LOT_SIZE")
        reference = price if price is not None else self.last_price
        if reference is None:
            raise BadRequest(-1112, "No orders on book for symbol.")
        if amount * reference < spec.min_notional:
            raise FilterFailure("NOTIONAL")
        existing = self._by_client.get(client_order_id)
        if existing is not None and (self.duplicate_scope == "all" or self.orders[existing].is_open):
            raise DuplicateOrder()
        lock_asset, lock_amount = self._lock_for(side, amount, reference)
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

    def _lock_for(self, side: Side, amount: Decimal, price: Decimal) -> tuple[str, Decimal]:
        spec = self.spec
        if side is Side.SELL:
            return spec.base, amount
        notional = amount * price
        if spec.fee_mode == "quote":
            rate = max(spec.maker_fee, spec.taker_fee)
            return spec.quote, notional + (notional * rate).quantize(_COMMISSION_QUANTUM, ROUND_UP)
        return spec.quote, notional

    def _fee(self, side: Side, amount: Decimal, notional: Decimal, rate: Decimal) -> tuple[Decimal, str]:
        spec = self.spec
        mode = spec.fee_mode
        if mode == "third":
            fee = (notional * rate / spec.third_asset_price).quantize(_COMMISSION_QUANTUM, ROUND_DOWN)
            if self._book.free.get(spec.third_asset, ZERO) >= fee:
                return fee, spec.third_asset
            mode = "base_on_buy"
        if mode == "base_on_buy" and side is Side.BUY:
            return (amount * rate).quantize(_COMMISSION_QUANTUM, ROUND_DOWN), spec.base
        return (notional * rate).quantize(_COMMISSION_QUANTUM, ROUND_DOWN), spec.quote

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal, *, maker: bool, now: int) -> SimOrder:
        spec = self.spec
        book = self._book
        notional = qty * price
        fee, fee_asset = self._fee(order.side, qty, notional, spec.maker_fee if maker else spec.taker_fee)
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
        trade = SimTrade(
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            amount=qty,
            quote_qty=notional,
            fee=fee,
            fee_asset=fee_asset,
            ts_ms=now,
            is_maker=maker,
        )
        self._next_trade_id += 1
        self._budget[order.side] -= qty
        self.trades.append(trade)
        self._trades_by_order.setdefault(order.order_id, []).append(trade)
        on_book = order.is_open and order.type == "limit"
        self._report(order, "TRADE", now, on_book=on_book, trade=trade)
        return order

    def _release(self, order: SimOrder) -> SimOrder:
        """Hand back whatever the order still locks (it is closing)."""
        if order.locked:
            asset = self.spec.quote if order.side is Side.BUY else self.spec.base
            self._book.unlock(asset, order.locked)
            order = replace(order, locked=ZERO)
        self._store(order)
        return order

    def _record_print(self, tick: Tick) -> None:
        self._print_id += 1
        pid = self._print_id
        self.last_tick = tick
        self._prints.append((pid, tick))
        self._window_volume += tick.volume
        self._window_quote += tick.price * tick.volume
        while self._highs and self._highs[-1][1] <= tick.price:
            self._highs.pop()
        self._highs.append((pid, tick.price))
        while self._lows and self._lows[-1][1] >= tick.price:
            self._lows.pop()
        self._lows.append((pid, tick.price))
        while self._prints[0][1].ts_ms <= tick.ts_ms - _DAY_MS:
            old_id, old = self._prints.popleft()
            self._prev_close = old.price
            self._window_volume -= old.volume
            self._window_quote -= old.price * old.volume
            if self._highs[0][0] == old_id:
                self._highs.popleft()
            if self._lows[0][0] == old_id:
                self._lows.popleft()

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
