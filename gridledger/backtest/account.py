"""The backtest's venue: our resting orders, the account's balances and locks, and fees.

The same rules as the paper venue (``exchange/sim/matching.py``), with every amount exact:

- a buy locks ``amount × price`` of quote (plus a fee reserve in ``quote`` fee mode), a sell
  locks its amount of base; an order the free balance cannot cover is refused;
- fees: ``quote`` charges quote on both sides, ``base_on_buy`` (Binance spot) charges buys
  in base and sells in quote, ``third`` charges a third asset at a fixed price and falls
  back to ``base_on_buy`` when its free balance cannot cover the fee; commissions are
  truncated to 8 decimals, as Binance reports them.

No order book and no volume budget: our orders fill whole (see ``backtest/run.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from gridledger.backtest.setup import MarketSetup
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Role, Side

COMMISSION_QUANTUM = Decimal("0.00000001")


@dataclass(slots=True, eq=False)
class RestingOrder:
    client_id: str
    order_id: str
    level: int
    side: Side
    role: Role
    price: Decimal
    ticks: int  # price in price steps, for integer comparisons with the data
    amount: Decimal
    post_only: bool
    seq: int
    lock_asset: str
    locked: Decimal
    lock_price: Decimal


class Refused(Exception):
    """The venue refused an order: ``post_only`` (it would take) or insufficient balance."""

    def __init__(self, reason: str, post_only: bool = False) -> None:
        super().__init__(reason)
        self.post_only = post_only


class Account:
    """Balances (free and locked) per asset, exact."""

    def __init__(self, market: MarketSetup, balances: dict[str, Decimal]) -> None:
        self.market = market
        assets = [market.base, market.quote] + ([market.third_asset] if market.fee_mode == "third" else [])
        self.free: dict[str, Decimal] = {a: ZERO for a in assets}
        self.locked: dict[str, Decimal] = {a: ZERO for a in assets}
        for asset, amount in balances.items():
            self.free[asset] = Decimal(amount)
            self.locked.setdefault(asset, ZERO)
        self.initial = {a: self.free[a] + self.locked[a] for a in self.free}

    def total(self, asset: str) -> Decimal:
        return self.free.get(asset, ZERO) + self.locked.get(asset, ZERO)

    def lock_for(self, side: Side, amount: Decimal, price: Decimal) -> tuple[str, Decimal]:
        m = self.market
        if side is Side.SELL:
            return m.base, amount
        notional = amount * price
        if m.fee_mode == "quote":
            rate = max(m.maker_fee, m.taker_fee)
            return m.quote, notional + (notional * rate).quantize(COMMISSION_QUANTUM, ROUND_UP)
        return m.quote, notional

    def lock(self, asset: str, amount: Decimal) -> None:
        if self.free.get(asset, ZERO) < amount:
            raise Refused(f"insufficient {asset}: {amount} needed, {self.free.get(asset, ZERO)} free")
        self.free[asset] -= amount
        self.locked[asset] += amount

    def release(self, order: RestingOrder) -> None:
        if order.locked:
            self.locked[order.lock_asset] -= order.locked
            self.free[order.lock_asset] += order.locked
            order.locked = ZERO

    def fee(self, side: Side, amount: Decimal, notional: Decimal, maker: bool) -> tuple[Decimal, str]:
        m = self.market
        rate = m.maker_fee if maker else m.taker_fee
        mode = m.fee_mode
        if mode == "third":
            fee = (notional * rate / m.third_asset_price).quantize(COMMISSION_QUANTUM, ROUND_DOWN)
            if self.free.get(m.third_asset, ZERO) >= fee:
                return fee, m.third_asset
            mode = "base_on_buy"
        if mode == "base_on_buy" and side is Side.BUY:
            return (amount * rate).quantize(COMMISSION_QUANTUM, ROUND_DOWN), m.base
        return (notional * rate).quantize(COMMISSION_QUANTUM, ROUND_DOWN), m.quote

    def fill(self, order: RestingOrder, price: Decimal, maker: bool) -> tuple[Decimal, Decimal, str]:
        """Fill the whole order at ``price``; returns (notional, fee, fee asset)."""
        m = self.market
        qty = order.amount
        notional = qty * price
        fee, fee_asset = self.fee(order.side, qty, notional, maker)
        if order.side is Side.BUY:
            release = qty * order.lock_price
            self.locked[m.quote] -= release
            order.locked -= release
            self.free[m.quote] += release - notional
            self.free[m.base] += qty
            if fee_asset == m.quote:
                self.locked[m.quote] -= fee  # paid from the order's fee reserve
                order.locked -= fee
            else:
                self.free[fee_asset] -= fee
        else:
            self.locked[m.base] -= qty
            order.locked -= qty
            self.free[m.quote] += notional
            self.free[fee_asset] -= fee
        self.release(order)
        return notional, fee, fee_asset
