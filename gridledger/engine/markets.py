"""Market precision and limits from a ccxt market structure, as the strategy needs them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.domain.numbers import ZERO, opt_decimal
from gridledger.strategy import MarketRules

# ccxt precision modes (ccxt.base.decimal_to_precision): DECIMAL_PLACES = 2,
# SIGNIFICANT_DIGITS = 3, TICK_SIZE = 4.
_DECIMAL_PLACES = 2
_TICK_SIZE = 4


class MarketError(ValueError):
    """The market lacks what trading needs (precision, limits)."""


def _step(exchange: Any, value: Any, what: str) -> Decimal:
    number = opt_decimal(value, what)
    if number is None or number <= 0:
        raise MarketError(f"the market does not give its {what}")
    mode = getattr(exchange, "precisionMode", _TICK_SIZE)
    if mode == _DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(number))
    if mode != _TICK_SIZE:
        raise MarketError(f"precision mode {mode} (significant digits) is not supported for {what}")
    return number


def market_rules(exchange: Any, market: Mapping[str, Any]) -> MarketRules:
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    return MarketRules(
        amount_step=_step(exchange, precision.get("amount"), "amount precision"),
        price_step=_step(exchange, precision.get("price"), "price precision"),
        min_amount=opt_decimal((limits.get("amount") or {}).get("min"), "minimum amount") or ZERO,
        min_notional=opt_decimal((limits.get("cost") or {}).get("min"), "minimum notional") or ZERO,
    )


def fee_rates(market: Mapping[str, Any]) -> tuple[Decimal | None, Decimal | None]:
    return (
        opt_decimal(market.get("maker"), "maker fee", negative_ok=True),
        opt_decimal(market.get("taker"), "taker fee", negative_ok=True),
    )
