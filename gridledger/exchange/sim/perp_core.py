"""The simulated linear perpetual's core: one net position, margin, funding, liquidation.

:class:`PerpCore` is a :class:`SimCore` (same order book model: fills from public prints in
price-time priority within the participation budget, crossing orders take at the last
print, market orders expire their remainder) whose account is a USDⓈ-M futures account in
one-way mode instead of spot balances:

- One signed net position per symbol in contracts of one base unit, its average entry
  price, a wallet in the settle asset (USDT). A fill that reduces the position realizes
  ``closed x (price - entry)`` (signed); one that crosses zero closes and opens the rest.
- Fees in the settle asset on every fill, ``notional x rate`` truncated toward zero to 8
  decimals (a negative maker rate is a rebate).
- Margin (see :mod:`.perp_margin`): leverage 1-125 and cross/isolated settable (refused like
  Binance: -4046 same mode, -4047/-4048 with open orders/a position); an order whose opening
  part needs more initial margin than is available is refused with -2019 "Margin is
  insufficient."; a ``reduce_only`` order that would increase the position (or with no
  position) with -2022; on a fill a reduce-only order never takes more than the position,
  and when the position is flat or flips, open reduce-only orders EXPIRE.
- Post-only (GTX) orders that would take are refused with -5022, as USDⓈ-M does.
- Mark price = the last print. Funding at every multiple of ``funding_interval_ms`` since
  the epoch, applied before the first print (or request) at or after it, at the mark before
  it: the wallet receives ``-position x mark x rate`` (truncated toward zero to 8
  decimals), recorded as a :class:`FundingPayment` with its own id (Binance income
  ``FUNDING_FEE``, ``tranId``).
- Liquidation: after each print, when the margin balance (cross: wallet + unrealized PnL;
  isolated: the position's margin + its unrealized PnL) is below maintenance margin, every
  open order is canceled and the position is closed at the mark by an ``autoclose-`` order
  (execution type ``CALCULATED``), paying the taker fee; the insurance fund covers a loss
  beyond what was at stake (cross: a wallet left below zero is brought back to zero;
  isolated: to what the cross wallet held, since an isolated position loses at most its
  isolated margin). Each is recorded as a :class:`Liquidation`.

Ground truth kept exactly: ``cash`` (deposits + sell notional - buy notional - fees +
funding, a Decimal) and the position's entry cost (a Fraction); wallet = cash + cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from fractions import Fraction

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus, Side
from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.errors import BadRequest, FilterFailure, SimOrderError
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.order_rules import check_client_id, order_kind
from gridledger.exchange.sim.perp_margin import (
    Q8,
    entry_price,
    liquidation_price,
    maintenance,
    margin_ratio,
    opening_margin,
    position_margin,
    to_decimal8,
)
from gridledger.exchange.sim.perp_values import FundingPayment, Liquidation, MarginMode, PerpMarketSpec, check_leverage
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import Balance, DuplicateScope, SimOrder, SimTrade

__all__ = ["PerpCore"]


def _refusal(code: int, msg: str) -> SimOrderError:
    return SimOrderError(code, msg)


class PerpCore(SimCore):
    """One USDⓈ-M linear perpetual of a Binance-like venue, driven by ticks and requests."""

    spec: PerpMarketSpec

    def __init__(
        self,
        spec: PerpMarketSpec,
        balances: Mapping[str, Decimal],
        start_ms: int,
        *,
        seed: int = 0,
        first_order_id: int = 1,
        first_trade_id: int = 1,
        duplicate_scope: DuplicateScope = "open",
    ) -> None:
        super().__init__(
            spec,
            {},
            start_ms,
            seed=seed,
            first_order_id=first_order_id,
            first_trade_id=first_trade_id,
            duplicate_scope=duplicate_scope,
        )
        wallet = ZERO
        for asset, amount in balances.items():
            amount = Decimal(amount)
            if amount < 0 or not amount.is_finite():
                raise ValueError(f"initial balance of {asset} must be >= 0, got {amount}")
            if asset == spec.settle:
                wallet = amount
            elif amount:
                raise ValueError(f"a {spec.settle}-margined futures account holds only {spec.settle}, not {asset}")
        self.cash: Decimal = wallet
        self.position_amt: Decimal = ZERO
        self.cost: Fraction = Fraction(0)  # signed: position x average entry price
        self.realized_total: Fraction = Fraction(0)
        self.isolated_margin: Decimal = ZERO
        self.leverage: int = spec.leverage
        self.margin_mode: MarginMode = spec.margin_mode
        self.dual_side = False
        self.mark: Decimal | None = None
        self.reduce_only: dict[int, bool] = {}
        self.realized_by_trade: dict[int, Decimal] = {}
        self.funding: list[FundingPayment] = []
        self.liquidations: list[Liquidation] = []
        self.fees_paid: Decimal = ZERO
        interval = spec.funding_interval_ms
        self.next_funding_ms = (int(start_ms) // interval + 1) * interval
        self._funding_count = 0
        self._next_tran_id = 1
        self._dirty: str | None = None  # the ACCOUNT_UPDATE reason owed, if any
        self._balance_change = ZERO
        self._exec_type_override: str | None = None

    # --- queries ---------------------------------------------------------------------------

    @property
    def wallet(self) -> Fraction:
        return Fraction(self.cash) + self.cost

    @property
    def entry(self) -> Fraction:
        return entry_price(self.position_amt, self.cost)

    @property
    def funding_rate(self) -> Decimal:
        """The rate of the next funding."""
        rates = self.spec.funding_rates
        return rates[self._funding_count % len(rates)]

    def _mark_or(self, fallback: Decimal | None = None) -> Decimal:
        if self.mark is not None:
            return self.mark
        return fallback if fallback is not None else ZERO

    def unrealized(self) -> Fraction:
        return Fraction(self.position_amt * self._mark_or()) - self.cost

    def margin_balance(self) -> Fraction:
        """Cross: wallet + unrealized PnL (= cash + position x mark). Isolated: the position's
        isolated margin + its unrealized PnL."""
        if self.margin_mode == "isolated":
            return Fraction(self.isolated_margin) + self.unrealized()
        return Fraction(self.cash + self.position_amt * self._mark_or())

    def maintenance_margin(self) -> Decimal:
        return maintenance(self.position_amt, self._mark_or(), self.spec.maintenance_rate)

    def _resting(self) -> list[tuple[Side, Decimal, Decimal]]:
        return [(o.side, o.remaining, o.price) for o in self.open_orders() if o.price is not None]

    def order_margin(self, extra: tuple[Side, Decimal, Decimal] | None = None) -> Fraction:
        resting = self._resting()
        if extra is not None:
            resting.append(extra)
        return opening_margin(resting, self.position_amt, self.leverage)

    def available(self, order_margin: Fraction | None = None) -> Fraction:
        """What new opening orders may still use."""
        om = self.order_margin() if order_margin is None else order_margin
        if self.margin_mode == "isolated":
            return self.wallet - Fraction(self.isolated_margin) - om
        return self.margin_balance() - position_margin(self.position_amt, self._mark_or(), self.leverage) - om

    def liquidation_price(self) -> Decimal:
        collateral = Fraction(self.isolated_margin) if self.margin_mode == "isolated" else self.wallet
        return liquidation_price(self.position_amt, collateral, self.cost, self.spec.maintenance_rate)

    def margin_ratio(self) -> Decimal | None:
        return margin_ratio(self.maintenance_margin(), self.margin_balance())

    def balances(self) -> dict[str, Balance]:
        """The settle asset: free = available balance, locked = initial margin (8 decimals)."""
        om = self.order_margin()
        pm = position_margin(self.position_amt, self._mark_or(), self.leverage)
        return {self.spec.settle: Balance(to_decimal8(self.available(om)), to_decimal8(om + pm))}

    def balance(self, asset: str) -> Balance:
        return self.balances().get(asset, Balance(ZERO, ZERO))

    def position(self) -> Decimal:
        """The signed net position in contracts (= base units)."""
        return self.position_amt

    def _notional(self, side: Side) -> Decimal:
        return sum((o.remaining * o.price for o in self.open_orders() if o.side is side and o.price), ZERO)

    def position_view(self) -> uf.PositionView:
        mark = self._mark_or()
        om = self.order_margin()
        pm = position_margin(self.position_amt, mark, self.leverage)
        isolated = self.margin_mode == "isolated"
        iso = self.isolated_margin if isolated else ZERO
        return uf.PositionView(
            symbol=self.spec.venue_id,
            amount=self.position_amt,
            entry=self.entry,
            mark=mark,
            unrealized=self.unrealized(),
            liquidation=self.liquidation_price(),
            isolated_margin=to_decimal8(Fraction(iso) + self.unrealized()) if isolated and self.position_amt else ZERO,
            isolated_wallet=iso,
            initial_margin=pm + om,
            position_margin=pm,
            order_margin=om,
            maintenance=self.maintenance_margin(),
            leverage=self.leverage,
            margin_mode=self.margin_mode,
            realized_total=self.realized_total,
            bids_notional=self._notional(Side.BUY),
            asks_notional=self._notional(Side.SELL),
            update_ms=self.now_ms,
        )

    def account_view(self) -> uf.AccountView:
        mark = self._mark_or()
        om = self.order_margin()
        pm = position_margin(self.position_amt, mark, self.leverage)
        unrealized = self.unrealized()
        wallet = self.wallet
        return uf.AccountView(
            asset=self.spec.settle,
            wallet=wallet,
            cross_wallet=wallet - Fraction(self.isolated_margin),
            unrealized=unrealized,
            margin_balance=wallet + unrealized,
            initial_margin=pm + om,
            position_margin=pm,
            order_margin=om,
            maintenance=self.maintenance_margin(),
            available=self.available(om),
            update_ms=self.now_ms,
        )

    # --- settings --------------------------------------------------------------------------

    def set_leverage(self, leverage: int) -> int:
        try:
            check_leverage(leverage)
        except ValueError:
            raise BadRequest(-4028, f"Leverage {leverage} is not valid") from None
        self.leverage = leverage
        return leverage

    def set_margin_mode(self, mode: str) -> None:
        """``CROSSED``/``cross`` or ``ISOLATED``/``isolated``."""
        wanted = {"crossed": "cross", "cross": "cross", "isolated": "isolated"}.get(str(mode).lower())
        if wanted is None:
            raise BadRequest(-1116, "Invalid marginType.")
        if wanted == self.margin_mode:
            raise _refusal(-4046, "No need to change margin type.")
        if self._open:
            raise _refusal(-4047, "Margin type cannot be changed if there exists open orders.")
        if self.position_amt:
            raise _refusal(-4048, "Margin type cannot be changed if there exists position.")
        self.margin_mode = "cross" if wanted == "cross" else "isolated"

    def set_position_mode(self, dual_side: bool) -> None:
        if bool(dual_side) == self.dual_side:
            raise _refusal(-4059, "No need to change position side.")
        if self._open:
            raise _refusal(-4067, "Position side cannot be changed if there exists open orders.")
        if self.position_amt:
            raise _refusal(-4068, "Position side cannot be changed if there exists position.")
        self.dual_side = bool(dual_side)

    def deposit(self, asset: str, amount: Decimal) -> None:
        """A transfer in (or, negative, out) of the futures wallet the grid did not make."""
        if asset != self.spec.settle:
            raise ValueError(f"a {self.spec.settle}-margined account holds only {self.spec.settle}")
        self.cash += amount
        self._owe_update("DEPOSIT" if amount >= 0 else "WITHDRAW", amount)
        self._account_update(self.now_ms)

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
        reduce_only: bool = False,
    ) -> SimOrder:
        """Accept or refuse a new order (Binance USDⓈ-M's checks and codes, see the module doc)."""
        now = self._advance(now_ms)
        side = Side.parse(side)
        kind, price = order_kind(type, post_only, price)
        if client_order_id is None:
            client_order_id = self._generate_client_id()
        check_client_id(client_order_id)
        if self.dual_side:
            raise _refusal(-4061, "Order's position side does not match user's setting.")
        amount, reference = self._check_filters(Decimal(amount), price, reduce_only)
        existing = self._by_client.get(client_order_id)
        if existing is not None and (self.duplicate_scope == "all" or self.orders[existing].is_open):
            raise _refusal(-4116, "ClientOrderId is duplicated.")
        p = self.position_amt
        if reduce_only and (not p or (side is Side.BUY) == (p > 0)):
            raise _refusal(-2022, "ReduceOnly Order is rejected.")
        crosses = self._crosses(side, reference) if kind == "limit" else True
        if post_only and crosses:
            raise _refusal(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be rejected. "
                "The order will not be recorded in the order history",
            )
        if not reduce_only:
            self._check_margin(side, amount, reference)

        self._seq += 1
        order = SimOrder(
            order_id=self._next_order_id,
            client_order_id=client_order_id,
            symbol=self.spec.venue_id,
            side=side,
            type=kind,
            post_only=post_only,
            amount=amount,
            price=price,
            status=OrderStatus.NEW,
            created_ms=now,
            updated_ms=now,
            seq=self._seq,
            lock_price=reference,
        )
        self._next_order_id += 1
        self.reduce_only[order.order_id] = reduce_only
        self._store(order)
        self._by_client[client_order_id] = order.order_id
        self._report(order, "NEW", now, on_book=True)
        last = self.last_price
        if crosses and last is not None:
            take = min(order.remaining, self._budget[side])
            if take > 0:
                order = self._fill(order, take, last, maker=False, now=now)
        if kind == "market" and order.is_open:
            order = self._release(replace(order, status=OrderStatus.EXPIRED, updated_ms=now))
            self._report(order, "EXPIRED", now, on_book=False)
        self._account_update(now)
        return order

    def on_tick(self, tick: Tick) -> list[SimTrade]:
        """A public print: funding due before it, the new mark, fills, then the liquidation check."""
        if tick.ts_ms < self.now_ms:
            raise ValueError(f"tick at {tick.ts_ms} is before the core's clock {self.now_ms}")
        self._settle_funding(tick.ts_ms)
        self.mark = tick.price
        trades = super().on_tick(tick)
        self._check_liquidation(tick.ts_ms)
        return trades

    # --- internals -------------------------------------------------------------------------

    def _advance(self, now_ms: int | None) -> int:
        now = super()._advance(now_ms)
        self._settle_funding(now)
        return now

    def _check_filters(self, amount: Decimal, price: Decimal | None, reduce_only: bool) -> tuple[Decimal, Decimal]:
        spec = self.spec
        if price is not None and (price <= 0 or price % spec.price_step != 0):
            raise FilterFailure("PRICE_FILTER")
        if amount <= 0 or amount < spec.min_amount or amount % spec.amount_step != 0:
            raise FilterFailure("LOT_SIZE")
        reference = price if price is not None else self.last_price
        if reference is None:
            raise BadRequest(-1112, "No orders on book for symbol.")
        if not reduce_only and amount * reference < spec.min_notional:
            raise _refusal(
                -4164,
                f"Order's notional must be no smaller than {uf.plain(spec.min_notional)} (unless you choose reduce only).",
            )
        return amount, reference

    def _check_margin(self, side: Side, amount: Decimal, reference: Decimal) -> None:
        before = self.order_margin()
        after = self.order_margin((side, amount, reference))
        if after <= before:
            return  # the order only closes: it needs no margin
        if self.mark is None:
            self.mark = reference  # before the first print, the order's own price is the mark
        if self.available(after) < 0:
            raise _refusal(-2019, "Margin is insufficient.")

    def _owe_update(self, reason: str, balance_change: Decimal = ZERO) -> None:
        if self._dirty is None or self._dirty == "ORDER":
            self._dirty = reason
        self._balance_change += balance_change

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal, *, maker: bool, now: int) -> SimOrder:
        current = self.orders[order.order_id]
        if not current.is_open:
            return current  # expired earlier in this tick (a reduce-only order past a flat position)
        order = current
        p = self.position_amt
        reduce_only = self.reduce_only.get(order.order_id, False)
        if reduce_only:
            closes = (order.side is Side.SELL) == (p > 0) and p != 0
            qty = min(qty, abs(p)) if closes else ZERO
            if qty <= 0:
                return self._expire(order, now)
        spec = self.spec
        notional = qty * price
        rate = spec.maker_fee if maker else spec.taker_fee
        fee = (notional * rate).quantize(Q8, rounding=ROUND_DOWN)
        realized = self._trade(order.side, qty, price, fee)
        filled = order.filled + qty
        status = OrderStatus.FILLED if filled == order.amount else OrderStatus.PARTIALLY_FILLED
        order = replace(
            order, filled=filled, cost=order.cost + notional, status=status, updated_ms=now, last_trade_ms=now
        )
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
            fee_asset=spec.settle,
            ts_ms=now,
            is_maker=maker,
        )
        self._next_trade_id += 1
        self._budget[order.side] -= qty
        self.trades.append(trade)
        self._trades_by_order.setdefault(order.order_id, []).append(trade)
        self.realized_by_trade[trade.trade_id] = to_decimal8(realized)
        self._owe_update("ORDER")
        self._report(order, self._exec_type_override or "TRADE", now, on_book=order.is_open, trade=trade)
        self._expire_stale_reduce_only(now)
        return self.orders[order.order_id]

    def _trade(self, side: Side, qty: Decimal, price: Decimal, fee: Decimal) -> Fraction:
        """Move the position, entry cost, isolated margin and cash by one fill; the realized PnL."""
        signed = qty if side is Side.BUY else -qty
        p = self.position_amt
        realized = Fraction(0)
        opening = qty
        if p and (p > 0) != (signed > 0):
            closing = min(qty, abs(p))
            removed = self.cost * Fraction(closing) / Fraction(abs(p))
            realized = (Fraction(closing * price) if p > 0 else -Fraction(closing * price)) - removed
            if self.margin_mode == "isolated":
                share = self.isolated_margin if closing == abs(p) else self.isolated_margin * closing / abs(p)
                self.isolated_margin -= share.quantize(Q8, rounding=ROUND_DOWN)
            self.cost -= removed
            opening = qty - closing
        if opening:
            self.cost += Fraction((opening if signed > 0 else -opening) * price)
            if self.margin_mode == "isolated":
                self.isolated_margin += (opening * price / self.leverage).quantize(Q8, rounding=ROUND_UP)
        self.position_amt = p + signed
        if not self.position_amt:
            self.cost = Fraction(0)
            self.isolated_margin = ZERO
        # Cash is the exact ground truth: what the fill moved, minus its fee.
        self.cash += -signed * price - fee
        self.fees_paid += fee
        self.realized_total += realized
        return realized

    def _expire(self, order: SimOrder, now: int) -> SimOrder:
        order = replace(order, status=OrderStatus.EXPIRED, updated_ms=now)
        self._store(order)
        self._report(order, "EXPIRED", now, on_book=False)
        return order

    def _expire_stale_reduce_only(self, now: int) -> None:
        p = self.position_amt
        for order in self.open_orders():
            if self.reduce_only.get(order.order_id) and (not p or (order.side is Side.SELL) != (p > 0)):
                self._expire(order, now)

    def _settle_funding(self, now: int) -> None:
        interval = self.spec.funding_interval_ms
        while self.next_funding_ms <= now:
            at = self.next_funding_ms
            rate = self.funding_rate
            self._funding_count += 1
            self.next_funding_ms += interval
            p, mark = self.position_amt, self.mark
            if not p or mark is None:
                continue
            amount = (-(p * mark * rate)).quantize(Q8, rounding=ROUND_DOWN)
            if not amount:
                continue
            payment = FundingPayment(self._next_tran_id, at, rate, mark, p, amount)
            self._next_tran_id += 1
            self.cash += amount
            self.funding.append(payment)
            self._owe_update("FUNDING_FEE", amount)
            self._account_update(max(at, self.now_ms))

    def _check_liquidation(self, now: int) -> None:
        p, mark = self.position_amt, self.mark
        if not p or mark is None:
            return
        maint = self.maintenance_margin()
        balance = self.margin_balance()
        if balance >= maint:
            return
        # Isolated: the position can lose at most its isolated margin; the rest of the wallet
        # (the cross wallet) is not at stake, so a loss beyond the isolated margin (a jump past
        # the liquidation price) is the insurance fund's, not the cross wallet's. Cross: the
        # whole wallet is at stake, down to zero. Rounded down to the wire's 8 decimals.
        floor = ZERO
        if self.margin_mode == "isolated":
            floor = max(ZERO, to_decimal8(self.wallet - Fraction(self.isolated_margin), ROUND_DOWN))
        for order in self.open_orders():
            self._store(replace(order, status=OrderStatus.CANCELED, updated_ms=now))
            self._report(self.orders[order.order_id], "CANCELED", now, on_book=False)
        self._seq += 1
        client_id = f"autoclose-{now}"
        order = SimOrder(
            order_id=self._next_order_id,
            client_order_id=client_id,
            symbol=self.spec.venue_id,
            side=Side.SELL if p > 0 else Side.BUY,
            type="limit",
            post_only=False,
            amount=abs(p),
            price=mark,
            status=OrderStatus.NEW,
            created_ms=now,
            updated_ms=now,
            seq=self._seq,
        )
        self._next_order_id += 1
        self.reduce_only[order.order_id] = True
        self._store(order)
        self._by_client[client_id] = order.order_id
        self._exec_type_override = "CALCULATED"
        self._budget[order.side] = abs(p)  # the venue takes the whole position over
        try:
            order = self._fill(order, abs(p), mark, maker=False, now=now)
        finally:
            self._exec_type_override = None
        insurance = ZERO
        if self.cash < floor:  # flat now, so wallet == cash
            insurance = floor - self.cash
            self.cash = floor
            self._owe_update("INSURANCE_CLEAR", insurance)
        self.liquidations.append(
            Liquidation(now, order.order_id, client_id, p, mark, to_decimal8(balance), maint, insurance)
        )
        self._account_update(now)

    def _report(
        self, order: SimOrder, exec_type: str, now: int, *, on_book: bool, trade: SimTrade | None = None
    ) -> None:
        reduce_only = self.reduce_only.get(order.order_id, False)
        if trade is not None:
            self._emit(uf.trade_lite(order, trade, now), now)
        payload = uf.order_trade_update(
            order,
            exec_type=exec_type,
            event_ms=now,
            reduce_only=reduce_only,
            trade=trade,
            realized_pnl=self.realized_by_trade.get(trade.trade_id, ZERO) if trade else ZERO,
            bids_notional=self._notional(Side.BUY),
            asks_notional=self._notional(Side.SELL),
        )
        self._emit(payload, now)

    def _account_update(self, now: int) -> None:
        if self._dirty is None:
            return
        reason, change = self._dirty, self._balance_change
        self._dirty, self._balance_change = None, ZERO
        self._emit(uf.account_update(now, reason, self.account_view(), [self.position_view()], change), now)
