"""What the simulated venue locks for an order and charges for a fill.

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
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_UP, Decimal

from gridledger.domain.types import Side
from gridledger.exchange.sim.values import SimMarketSpec

_COMMISSION_QUANTUM = Decimal("0.00000001")


def lock_for(spec: SimMarketSpec, side: Side, amount: Decimal, price: Decimal) -> tuple[str, Decimal]:
    """The asset and amount a new order locks."""
    if side is Side.SELL:
        return spec.base, amount
    notional = amount * price
    if spec.fee_mode == "quote":
        rate = max(spec.maker_fee, spec.taker_fee)
        return spec.quote, notional + (notional * rate).quantize(_COMMISSION_QUANTUM, ROUND_UP)
    return spec.quote, notional


def fee_for(
    spec: SimMarketSpec, side: Side, amount: Decimal, notional: Decimal, rate: Decimal, third_free: Decimal
) -> tuple[Decimal, str]:
    """The commission of one fill and its asset; ``third_free`` is the free third-asset balance."""
    mode = spec.fee_mode
    if mode == "third":
        fee = (notional * rate / spec.third_asset_price).quantize(_COMMISSION_QUANTUM, ROUND_DOWN)
        if third_free >= fee:
            return fee, spec.third_asset
        mode = "base_on_buy"
    if mode == "base_on_buy" and side is Side.BUY:
        return (amount * rate).quantize(_COMMISSION_QUANTUM, ROUND_DOWN), spec.base
    return (notional * rate).quantize(_COMMISSION_QUANTUM, ROUND_DOWN), spec.quote
