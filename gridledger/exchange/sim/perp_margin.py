"""The simulated perpetual's margin arithmetic: pure functions over exact numbers.

The simulator's model (a documented simplification of Binance USDⓈ-M, one-way mode, one
maintenance bracket):

- ``cash``: the settle asset that trading moved, exact: deposits + sell notional - buy
  notional - fees + funding. ``cost``: the open position's signed entry cost (position x
  average entry price; a :class:`~fractions.Fraction`, because an average price need not
  be a finite decimal). Wallet balance = cash + cost; unrealized PnL = position x mark -
  cost; so margin balance = wallet + unrealized = cash + position x mark, exactly.
- Initial margin of the position: |position| x mark / leverage; of open orders: for each
  side, the part of its resting quantity that would open (beyond what closes the current
  position) at its prices / leverage, and the larger of the two sides (a buy and a sell
  cannot both open in one-way mode).
- Maintenance margin: |position| x mark x maintenance rate. Cross: liquidation when the
  margin balance falls below it. Isolated: when the position's isolated margin plus its
  unrealized PnL does.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from gridledger.domain.types import Side

Q8 = Decimal("0.00000001")


def to_decimal8(value: Fraction | Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """A rational shown with 8 decimals (the wire's precision for balances and prices)."""
    if isinstance(value, Decimal):
        return value.quantize(Q8, rounding=rounding)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Q8, rounding=rounding)


def entry_price(position: Decimal, cost: Fraction) -> Fraction:
    return cost / Fraction(position) if position else Fraction(0)


def unrealized(position: Decimal, cost: Fraction, mark: Decimal) -> Fraction:
    return Fraction(position * mark) - cost


def opening_margin(orders: Iterable[tuple[Side, Decimal, Decimal]], position: Decimal, leverage: int) -> Fraction:
    """Initial margin of resting orders ``(side, remaining, price)`` (see the module doc)."""
    per_side: dict[Side, tuple[Decimal, Decimal]] = {
        Side.BUY: (Decimal(0), Decimal(0)),
        Side.SELL: (Decimal(0), Decimal(0)),
    }
    for side, remaining, price in orders:
        qty, notional = per_side[side]
        per_side[side] = (qty + remaining, notional + remaining * price)
    worst = Fraction(0)
    for side, (qty, notional) in per_side.items():
        if not qty:
            continue
        closes = max(Decimal(0), -position) if side is Side.BUY else max(Decimal(0), position)
        opening = max(Decimal(0), qty - closes)
        margin = Fraction(notional) * Fraction(opening) / Fraction(qty) / leverage
        worst = max(worst, margin)
    return worst


def position_margin(position: Decimal, mark: Decimal, leverage: int) -> Fraction:
    return Fraction(abs(position) * mark) / leverage


def maintenance(position: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    return abs(position) * mark * rate


def liquidation_price(position: Decimal, collateral: Fraction, cost: Fraction, rate: Decimal) -> Decimal:
    """The mark at which ``collateral + position x mark - cost`` equals maintenance.

    ``collateral``: the wallet (cross) or the isolated margin (isolated). 0 when the position
    is flat or cannot be liquidated by any positive price (Binance shows "0" then)."""
    if not position:
        return Decimal(0)
    # collateral - cost + p*L = |p| * L * rate  =>  L = (cost - collateral) / (p - |p| * rate)
    denominator = Fraction(position) - Fraction(abs(position) * rate)
    if denominator == 0:
        return Decimal(0)
    price = (cost - collateral) / denominator
    return to_decimal8(price, ROUND_DOWN) if price > 0 else Decimal(0)


def margin_ratio(maint: Decimal, margin_balance: Fraction | Decimal) -> Decimal | None:
    """Maintenance margin over margin balance (Binance's "margin ratio"); None when there is
    no margin balance to divide by."""
    if margin_balance <= 0:
        return None
    return to_decimal8(Fraction(maint) / Fraction(margin_balance))
