"""The simulated venue's checks on a new order: its type, its client id and the symbol's
filters (PRICE_FILTER, LOT_SIZE, NOTIONAL), raising Binance's errors in Binance's order."""

from __future__ import annotations

import re
from decimal import Decimal

from gridledger.exchange.sim.errors import BadRequest, FilterFailure
from gridledger.exchange.sim.values import OrderType, SimMarketSpec

_ORDER_TYPES: dict[str, OrderType] = {"limit": "limit", "market": "market"}
_CLIENT_ID = re.compile(r"[a-zA-Z0-9\-_]{1,36}")


def order_kind(type: str, post_only: bool, price: Decimal | None) -> tuple[OrderType, Decimal | None]:
    """The order type, and the price it keeps (a market order has none)."""
    kind = _ORDER_TYPES.get(str(type).lower())
    if kind is None:
        raise BadRequest(-1116, "Invalid orderType.")
    if kind == "market":
        if post_only:
            raise BadRequest(-1116, "Invalid orderType.")
        price = None
    elif price is None:
        raise BadRequest(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
    return kind, price


def check_client_id(client_order_id: str) -> None:
    if not _CLIENT_ID.fullmatch(client_order_id):
        raise BadRequest(
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
        )


def check_filters(
    spec: SimMarketSpec, amount: Decimal, price: Decimal | None, last_price: Decimal | None
) -> tuple[Decimal, Decimal | None, Decimal]:
    """Amount and price as Decimals, and the reference price (the limit, else the last print)."""
    amount = Decimal(amount)
    if price is not None:
        price = Decimal(price)
        if price <= 0 or price % spec.price_step != 0:
            raise FilterFailure("PRICE_FILTER")
    if amount <= 0 or amount < spec.min_amount or amount % spec.amount_step != 0:
        raise FilterFailure("LOT_SIZE")
    reference = price if price is not None else last_price
    if reference is None:
        raise BadRequest(-1112, "No orders on book for symbol.")
    if amount * reference < spec.min_notional:
        raise FilterFailure("NOTIONAL")
    return amount, price, reference
