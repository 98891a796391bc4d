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

The account (wallet, margin figures, settings, funding) is :class:`.perp_futures_account.PerpAccount`,
which this class extends with order handling, fills and liquidation.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from fractions import Fraction

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus, Side
from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.errors import BadRequest, FilterFailure
from gridledger.exchange.sim.order_rules import check_client_id, order_kind
from gridledger.exchange.sim.perp_futures_account import PerpAccount, _refusal
from gridledger.exchange.sim.perp_margin import Q8, to_decimal8
from gridledger.exchange.sim.perp_values import Liquidation, PerpMarketSpec
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimOrder, SimTrade

__all__ = ["PerpCore"]


class PerpCore(PerpAccount):
    """One USDⓈ-M linear perpetual of a Binance-like venue, driven by ticks and requests."""

    spec: PerpMarketSpec

    # --- requests -----------------------------------------------------------------------------

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

    # --- internals ----------------------------------------------------------------------------

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
        trade = self._record_trade(order, price, qty, fee, spec.settle, now, maker)
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
