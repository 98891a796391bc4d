"""The backtest's account on a linear perpetual (``backtest --market perp``).

The simulated perpetual's rules (``exchange/sim/perp_core.py``), reduced to what a backtest
needs, every amount exact:

- One net position (one-way mode); its average entry cost is kept as a fraction, the wallet
  is the cash trading moved plus that cost (``cash`` is exact: sell notional - buy notional
  - fees).
- Margin in the settle asset: an order that opens (the position is flat or on its side)
  locks ``amount x price / leverage`` (rounded up to 8 decimals); one on the reducing side
  locks nothing. The position holds ``|entry cost| / leverage``. An order the free balance
  cannot cover is refused, as the venue refuses it (-2019).
- Fees in the settle asset on both sides, ``notional x rate`` truncated toward zero to 8
  decimals (negative: a rebate).

No funding and no liquidation in a backtest (the data has no funding rates): the paper venue
simulates both; the report says so.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal
from fractions import Fraction

from gridledger.backtest.account import COMMISSION_QUANTUM, Account, Refused, RestingOrder
from gridledger.backtest.setup import MarketSetup
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Side

__all__ = ["PerpAccount"]


def _down8(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(COMMISSION_QUANTUM, ROUND_DOWN)


def _up8(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(COMMISSION_QUANTUM, ROUND_UP)


class PerpAccount(Account):
    """The settle asset's wallet and margin, and the net position (in ``free[base]``)."""

    def __init__(self, market: MarketSetup, balances: dict[str, Decimal], leverage: int) -> None:
        for asset, amount in balances.items():
            if asset != market.quote and amount:
                raise ValueError(f"a {market.quote}-margined futures account holds only {market.quote}, not {asset}")
        super().__init__(market, {market.quote: Decimal(balances.get(market.quote, ZERO))})
        self.leverage = leverage
        self.cash = self.free[market.quote]
        self.position = ZERO
        self.cost = Fraction(0)  # signed: position x average entry price
        self.position_margin = ZERO

    @property
    def wallet(self) -> Fraction:
        return Fraction(self.cash) + self.cost

    def lock_for(self, side: Side, amount: Decimal, price: Decimal) -> tuple[str, Decimal]:
        p = self.position
        reduces = p != 0 and (side is Side.SELL) == (p > 0) and amount <= abs(p)
        if reduces:
            return self.market.quote, ZERO
        return self.market.quote, _up8(Fraction(amount * price) / self.leverage)

    def lock(self, asset: str, amount: Decimal) -> None:
        if self.free.get(asset, ZERO) < amount:
            raise Refused(f"margin is insufficient: {amount} {asset} needed, {self.free.get(asset, ZERO)} available")
        super().lock(asset, amount)

    def fill(self, order: RestingOrder, price: Decimal, maker: bool) -> tuple[Decimal, Decimal, str]:
        """Fill the whole order at ``price``; returns (notional, fee, fee asset)."""
        m = self.market
        qty = order.amount
        notional = qty * price
        rate = m.maker_fee if maker else m.taker_fee
        fee = (notional * rate).quantize(COMMISSION_QUANTUM, ROUND_DOWN)
        self.release(order)
        signed = qty if order.side is Side.BUY else -qty
        p = self.position
        opening = qty
        if p and (p > 0) != (signed > 0):
            closing = min(qty, abs(p))
            self.cost -= self.cost * Fraction(closing) / Fraction(abs(p))
            opening = qty - closing
        if opening:
            self.cost += Fraction((opening if signed > 0 else -opening) * price)
        self.position = p + signed
        if not self.position:
            self.cost = Fraction(0)
        self.cash += -signed * price - fee
        self.free[m.base] = self.position
        # The position's margin moves between free and locked; the wallet is their sum.
        self.locked[m.quote] -= self.position_margin
        self.position_margin = _up8(abs(self.cost) / self.leverage)
        self.locked[m.quote] += self.position_margin
        self.free[m.quote] = _down8(self.wallet) - self.locked[m.quote]
        return notional, fee, m.quote
