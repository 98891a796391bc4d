"""How Binance USDⓈ-M prints numbers and order fields (shared by every payload renderer).

Quantities and prices are rendered exactly (``plain``); an average price that is not a finite
decimal is rounded to 8 decimals (Binance rounds it too); balances and PnL have 8 decimals.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from gridledger.exchange.sim.binance_format import fmt8
from gridledger.exchange.sim.perp_margin import to_decimal8
from gridledger.exchange.sim.usdm_views import PositionView
from gridledger.exchange.sim.values import SimOrder

__all__ = ["average_price", "d8", "entry_text", "order_type", "plain", "price_text", "tif"]


def plain(value: Decimal) -> str:
    """A quantity or price as Binance prints it: fixed point, no exponent, no trailing noise."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def average_price(order: SimOrder) -> str:
    """``avgPrice`` / ``ap``: cost / filled, exact when that is a finite decimal."""
    if not order.filled:
        return "0"
    ratio = Fraction(order.cost) / Fraction(order.filled)
    den = ratio.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den == 1:
        return plain(Decimal(ratio.numerator) / Decimal(ratio.denominator))
    return fmt8(to_decimal8(ratio))


def tif(order: SimOrder) -> str:
    return "GTX" if order.post_only else "GTC"


def order_type(order: SimOrder) -> str:
    return "MARKET" if order.type == "market" else "LIMIT"


def price_text(order: SimOrder) -> str:
    return plain(order.price) if order.price is not None else "0"


def d8(value: Fraction | Decimal) -> str:
    return fmt8(to_decimal8(value))


def entry_text(p: PositionView) -> str:
    return plain(to_decimal8(p.entry).normalize()) if p.amount else "0.0"
